/**
 * The core settings: how the app runs (NODE_ENV, XT_CONNECT_MODE), where it listens (PORT, HOST,
 * METRICS_*), who it is (PUBLIC_URL), which proxies it believes (TRUST_PROXY), where it keeps its
 * files (DATA_DIR), and its time limits (PROVIDER_TIMEOUT, SHUTDOWN_DRAIN, AUTH_RATE_*).
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { bool, durationMs, httpUrl, isLoopbackHttp } from './env.js';

export const coreSchema = z.object({
  /** Unset: production unless PUBLIC_URL is plain http on loopback (see runMode). */
  NODE_ENV: z.enum(['development', 'production', 'test']).optional(),
  XT_CONNECT_MODE: z.enum(['normal', 'demo']).default('normal'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** The address the public listener binds: every interface by default (a container must be reachable). */
  /** Unset: every interface (0.0.0.0, what a container needs), or loopback in demo mode (its secrets are public). */
  HOST: z.string().trim().min(1, 'must be an address to listen on, e.g. 0.0.0.0 or 127.0.0.1').optional(),
  /** 0 picks a free port (tests). Empty: off. */
  METRICS_PORT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().int().min(0).max(65535).optional(),
  ),
  /** Loopback unless set: the metrics say how busy the service is and which providers fail, for the scraper only. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: httpUrl('PUBLIC_URL').default('http://localhost:3000'),
  TRUST_PROXY: z.string().default('false'),
  /** TRUST_PROXY=true in production, kept on purpose (with a warning at every start). */
  TRUST_PROXY_ALLOW_ANY: bool.default(false),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PROVIDER_TIMEOUT: durationMs('PROVIDER_TIMEOUT').default(10_000),
  SHUTDOWN_DRAIN: durationMs('SHUTDOWN_DRAIN').default(5_000),
  AUTH_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(30),
  AUTH_RATE_WINDOW: durationMs('AUTH_RATE_WINDOW').default(60_000),
});

export type CoreEnv = z.infer<typeof coreSchema>;

export interface ServerConfig {
  /** The mode the app runs in (see runMode). */
  env: 'development' | 'production' | 'test';
  port: number;
  /** HOST: the address the public listener binds. */
  host: string;
  /** Prometheus metrics on their own listener (METRICS_PORT, METRICS_HOST); absent: no metrics listener. */
  metrics?: { port: number; host: string };
  publicUrl: URL;
  secureCookies: boolean;
  trustProxy: boolean | number | string;
  dataDir: string;
  logLevel: string;
  providerTimeoutMs: number;
  /** After SIGTERM: how long to keep serving (readiness failing, every answer closing its connection) before the listener closes. */
  shutdownDrainMs: number;
  /** Requests to /auth/* per client IP per window. */
  authRateLimit: { max: number; windowMs: number };
}

/** How the app runs: worked out first, since checks in several slices depend on it. */
export interface RunMode {
  env: ServerConfig['env'];
  /** XT_CONNECT_MODE=demo: built-in (public) secrets stand in for unset ones. */
  demo: boolean;
  /** How a refusal names the production mode it comes from ('' when not in production). */
  inProduction: string;
  publicUrl: URL;
}

/**
 * The mode the app runs in: NODE_ENV when it is set. Unset, only a PUBLIC_URL that is plain http
 * on loopback (a trial on one's own machine, the demo, the tests) means development; any other
 * PUBLIC_URL is a real deployment and runs as production, so the public placeholder and demo
 * secrets are refused there even when NODE_ENV was forgotten.
 */
export function runMode(nodeEnv: ServerConfig['env'] | undefined, publicUrl: URL): ServerConfig['env'] {
  return nodeEnv ?? (isLoopbackHttp(publicUrl) ? 'development' : 'production');
}

/** PUBLIC_URL (an origin only), the mode it and NODE_ENV give, and XT_CONNECT_MODE. */
export function loadRunMode(e: CoreEnv, problems: string[]): RunMode {
  const publicUrl = new URL(e.PUBLIC_URL);
  if (publicUrl.pathname !== '/' || publicUrl.search || publicUrl.hash) {
    problems.push('PUBLIC_URL: must be an origin only, like https://connect.example.com (no path, query or fragment)');
  }
  const env = runMode(e.NODE_ENV, publicUrl);
  const inProduction =
    env !== 'production'
      ? ''
      : e.NODE_ENV
        ? 'with NODE_ENV=production'
        : 'in production (NODE_ENV is unset and PUBLIC_URL is not http on loopback)';
  return { env, demo: e.XT_CONNECT_MODE === 'demo', inProduction, publicUrl };
}

/** The listeners, the proxies, the data directory and the time limits. */
export function loadServer(e: CoreEnv, run: RunMode, problems: string[], warnings: string[]): ServerConfig {
  if (e.SHUTDOWN_DRAIN > 120_000) problems.push('SHUTDOWN_DRAIN: must be at most 2m');
  const trustProxy = checkTrustProxy(e, run.env, problems, warnings);
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (metrics are never served on the public port)');
  }
  return {
    env: run.env,
    port: e.PORT,
    host: e.HOST ?? (run.demo ? '127.0.0.1' : '0.0.0.0'),
    metrics: e.METRICS_PORT === undefined ? undefined : { port: e.METRICS_PORT, host: e.METRICS_HOST },
    publicUrl: run.publicUrl,
    secureCookies: run.publicUrl.protocol === 'https:',
    trustProxy,
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    providerTimeoutMs: e.PROVIDER_TIMEOUT,
    shutdownDrainMs: e.SHUTDOWN_DRAIN,
    authRateLimit: { max: e.AUTH_RATE_LIMIT, windowMs: e.AUTH_RATE_WINDOW },
  };
}

function parseTrustProxy(raw: string): boolean | number | string {
  const word = raw.trim().toLowerCase();
  if (['false', '0', 'off', 'no', ''].includes(word)) return false;
  if (['true', 'on', 'yes'].includes(word)) return true;
  if (/^\d+$/.test(word)) return Number(word);
  return raw; // a list of addresses/subnets, as Express understands it
}

/** Express's names for address ranges in `trust proxy`. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * Each entry of a TRUST_PROXY list: an IP address, a subnet (`10.0.0.0/8`, or with a netmask) or
 * one of Express's range names. Checked here so a typo is a configuration problem at start, not
 * Express's bare "invalid IP address" when the app is built.
 */
function checkProxyList(list: string, problems: string[]): void {
  for (const entry of list.split(',').map((s) => s.trim())) {
    const [address = '', bits, extra] = entry.split('/');
    const ok =
      PROXY_RANGE_NAMES.includes(entry) ||
      (extra === undefined &&
        isIP(address) !== 0 &&
        (bits === undefined || /^\d{1,3}$/.test(bits) || isIP(bits) === 4));
    if (!ok)
      problems.push(
        `TRUST_PROXY: "${entry.slice(0, 64)}" is none of true, false, a hop count, an IP address, a subnet (10.0.0.0/8) or loopback/linklocal/uniquelocal`,
      );
  }
}

/**
 * TRUST_PROXY=true believes every X-Forwarded-For, so any client that reaches the app can choose
 * the IP the rate limit counts and the audit log records. Production refuses it unless
 * TRUST_PROXY_ALLOW_ANY=true says it is meant; elsewhere it is a warning.
 */
function checkTrustProxy(
  e: CoreEnv,
  mode: ServerConfig['env'],
  problems: string[],
  warnings: string[],
): boolean | number | string {
  const trust = parseTrustProxy(e.TRUST_PROXY);
  if (typeof trust === 'string') checkProxyList(trust, problems);
  if (trust !== true) return trust;
  const fix =
    'set TRUST_PROXY to the number of proxies in front of xt-connect (e.g. TRUST_PROXY=1) or to their addresses (e.g. TRUST_PROXY=10.0.0.0/8)';
  if (mode === 'production' && !e.TRUST_PROXY_ALLOW_ANY) {
    problems.push(
      `TRUST_PROXY: true lets any client choose its IP with X-Forwarded-For (the rate limit and the audit log believe it); ${fix}, or set TRUST_PROXY_ALLOW_ANY=true to keep it on purpose`,
    );
  } else {
    warnings.push(
      `TRUST_PROXY=true: any client can choose its IP with X-Forwarded-For (rate limit, audit log); ${fix}`,
    );
  }
  return trust;
}

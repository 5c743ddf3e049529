/**
 * The one place that reads the environment. Everything is parsed and validated once;
 * a bad value stops the app at start with a message that lists every problem.
 */
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import {
  API_KEY_CREATION,
  type AllowEntry,
  DEFAULT_XT_API_ALLOW,
  parseAllowList,
} from '../shared/xtAllowListSyntax.js';

export const XT_LANGUAGES = ['en', 'ja', 'hi', 'id', 'ru', 'es', 'tr', 'zh-HK', 'zh-CN', 'vi', 'th'] as const;

/** How a confidential OIDC client authenticates at the token endpoint (Tencent Cloud CIAM supports both). */
export const OIDC_TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type OidcTokenAuth = (typeof OIDC_TOKEN_AUTH_METHODS)[number];

/** Where a person without an XT.COM account registers; people who come through it count as the institution's. */
export const DEFAULT_XT_REGISTER_URL = 'https://www.xt.com/{lang}/accounts/register?client_id={client_id}';
export const DEFAULT_ACCENT_COLOR = '#0b6bcb';

/** The page languages a SCOPE_TEXTS entry may name (the tags of src/i18n.ts's three catalogs). */
export const SCOPE_TEXT_LANGUAGES = ['en', 'zh-CN', 'zh-Hant'] as const;

const DEMO_SESSION_SECRET = 'demo-only-session-secret-not-for-production-use';
const DEMO_XT_CLIENT_SECRET = 'demo-secret';

/**
 * The placeholders `.env.example` ships with. They are public, so with NODE_ENV=production the
 * app refuses to start while any of them is still set (as it does with the demo's built-in secrets).
 */
export const EXAMPLE_PLACEHOLDERS = {
  SESSION_SECRET: 'change-me-to-a-long-random-value-at-least-32-chars',
  XT_CLIENT_ID: 'your-client-id',
  XT_CLIENT_SECRET: 'your-client-secret',
  OIDC_CLIENT_ID: 'your-ciam-client-id',
  OIDC_CLIENT_SECRET: 'your-ciam-client-secret',
} as const;

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const durationMs = (what: string) =>
  z
    .string()
    .regex(/^\d+(ms|s|m|h|d)?$/, `${what} must be a number with an optional unit (ms, s, m, h, d), e.g. 30d`)
    .transform(parseDuration);

export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1000;
  return n * factor;
}

/**
 * XT_API_PERSON_SHARE: a tenth of the deployment's XT.COM budget (100 of 1000 calls a minute) is
 * a call every 0.6 s, more than a page polling every few seconds needs. XT.COM's per-user limits
 * let one person make about 520 a minute, so without a share three of them took everything; with
 * it, k people at full speed take k tenths, and anyone else finds room while k is 8 or fewer.
 * XT_API_SERVICE_SHARE: a tenth is kept for the institution's /v1 calls.
 */
export const DEFAULT_PERSON_SHARE = 0.1;
export const DEFAULT_SERVICE_SHARE = 0.1;

/** A fraction in (0, 1], e.g. 0.1 for a tenth. */
const share = (what: string) => {
  const error = `${what} must be a fraction above 0 and at most 1, e.g. 0.1 for a tenth`;
  return z.coerce.number({ error }).gt(0, error).max(1, error);
};

const httpUrl = (what: string) => z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL` });

const optionalNonEmpty = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const envSchema = z.object({
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
  SESSION_SECRET: optionalNonEmpty,
  SESSION_IDLE_TTL: durationMs('SESSION_IDLE_TTL').optional(),
  SESSION_MAX_AGE: durationMs('SESSION_MAX_AGE').default(90 * 86_400_000),
  /** Deprecated: read as SESSION_IDLE_TTL. */
  SESSION_TTL: durationMs('SESSION_TTL').optional(),
  SESSION_STORE: z.enum(['sqlite', 'redis', 'memory']).default('sqlite'),
  REDIS_URL: optionalNonEmpty,
  REDIS_CLUSTER_NODES: optionalNonEmpty,
  REDIS_SENTINELS: optionalNonEmpty,
  REDIS_SENTINEL_NAME: optionalNonEmpty,
  REDIS_USERNAME: optionalNonEmpty,
  REDIS_PASSWORD: optionalNonEmpty,
  REDIS_CA_FILE: optionalNonEmpty,
  REDIS_COMMAND_TIMEOUT: durationMs('REDIS_COMMAND_TIMEOUT').default(1000),
  TOKEN_ENCRYPTION_KEYS: optionalNonEmpty,
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  XT_ENABLED: bool.default(true),
  XT_CLIENT_ID: optionalNonEmpty,
  XT_CLIENT_SECRET: optionalNonEmpty,
  XT_AUTHORIZE_URL: z.string().default('https://www.xt.com/{lang}/accounts/oauth2'),
  XT_TOKEN_URL: z.string().default('https://sapi.xt.com/public/uaa/oauth2/token'),
  XT_API_URL: z.string().default('https://sapi.xt.com'),
  XT_SCOPE: z.string().min(1).default('userinfo'),
  XT_EXPIRES_IN_UNIT: z.enum(['s', 'ms']).default('s'),
  XT_LABEL: z.string().min(1).default('XT.COM'),
  XT_API_KEY: optionalNonEmpty,
  XT_API_SECRET: optionalNonEmpty,
  XT_SIGN_STYLE: z.enum(['method', 'path'], { error: 'must be method or path' }).default('method'),
  XT_RECV_WINDOW: durationMs('XT_RECV_WINDOW').default(5000),
  XT_API_ALLOW: optionalNonEmpty,
  XT_API_IP_LIMIT: z.coerce.number().int().min(1).max(100_000).default(1000),
  XT_API_QUEUE_WAIT: durationMs('XT_API_QUEUE_WAIT').default(2000),
  XT_API_PERSON_SHARE: share('XT_API_PERSON_SHARE').default(DEFAULT_PERSON_SHARE),
  XT_API_SERVICE_SHARE: share('XT_API_SERVICE_SHARE').default(DEFAULT_SERVICE_SHARE),
  XT_REGISTER_URL: z.string().default(DEFAULT_XT_REGISTER_URL),

  SITE_NAME: z.string().trim().min(1).max(80, 'must be at most 80 characters').default('xt-connect'),
  SITE_LOGO_URL: optionalNonEmpty,
  SITE_ACCENT_COLOR: z
    .string()
    .trim()
    .regex(/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a CSS hex color, #rgb or #rrggbb (e.g. #0b6bcb)')
    .default(DEFAULT_ACCENT_COLOR),
  SITE_HOME_URL: optionalNonEmpty,
  SUPPORT_URL: optionalNonEmpty,
  SCOPE_TEXTS: optionalNonEmpty,

  OIDC_ISSUER: optionalNonEmpty,
  OIDC_CLIENT_ID: optionalNonEmpty,
  OIDC_CLIENT_SECRET: optionalNonEmpty,
  OIDC_SCOPE: z.string().min(1).default('openid'),
  OIDC_LABEL: z.string().min(1).default('OpenID Connect'),
  OIDC_TOKEN_AUTH: optionalNonEmpty.pipe(
    z.enum(OIDC_TOKEN_AUTH_METHODS, { error: 'must be client_secret_basic or client_secret_post' }).optional(),
  ),
  OIDC_LOGOUT_URL: optionalNonEmpty,
  OIDC_PROVIDER_LOGOUT: bool.default(true),
  OIDC_AUTH_PARAMS: optionalNonEmpty,
  OIDC_REQUIRE_ACR: bool.default(false),
  OIDC_USERINFO: bool.default(false),
  OIDC_CLOCK_TOLERANCE: durationMs('OIDC_CLOCK_TOLERANCE').default(30_000),

  LINK_SECRET: optionalNonEmpty,
  LINK_REQUIRED: bool.default(false),
  SERVICE_API_KEYS: optionalNonEmpty,
  SERVICE_XT_API_ALLOW: optionalNonEmpty,
  SERVICE_ALLOW_API_KEY_CREATION: bool.default(false),
  SERVICE_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(100),
  WEBHOOK_URL: optionalNonEmpty,
  WEBHOOK_SECRET: optionalNonEmpty,
  WEBHOOK_MAX_AGE: durationMs('WEBHOOK_MAX_AGE').default(3 * 86_400_000),

  PROVIDER_TIMEOUT: durationMs('PROVIDER_TIMEOUT').default(10_000),
  SHUTDOWN_DRAIN: durationMs('SHUTDOWN_DRAIN').default(5_000),
  AUTH_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(30),
  AUTH_RATE_WINDOW: durationMs('AUTH_RATE_WINDOW').default(60_000),
  REFRESH_SKEW: durationMs('REFRESH_SKEW').default(60_000),
  REFRESH_BACKOFF_MAX: durationMs('REFRESH_BACKOFF_MAX').default(5 * 60_000),
});

export type Env = Record<string, string | undefined>;

export interface XtConfig {
  id: 'xt';
  label: string;
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  apiUrl: string;
  scope: string;
  expiresInUnit: 's' | 'ms';
  /** Signs user API calls (validate-appkey / HMAC key): XT_API_KEY/SECRET, else the client id/secret. */
  apiKey: string;
  apiSecret: string;
  /** `method`: Y = #METHOD#path…; `path`: Y = #path… (XT.COM's third-party page). */
  signStyle: 'method' | 'path';
  recvWindowMs: number;
  /** XT_REGISTER_URL: XT.COM's registration page; `{lang}` and `{client_id}` are filled in per person. */
  registerUrl: string;
}

/** A standard OAuth 2.0 / OpenID Connect provider (Tencent Cloud CIAM is the reference). */
export interface OidcConfig {
  id: 'oidc';
  label: string;
  /** The issuer identifier; discovery reads {issuer}/.well-known/openid-configuration. */
  issuer: string;
  clientId: string;
  /** Absent for a public client: PKCE only, token endpoint auth `none`. */
  clientSecret?: string;
  scope: string;
  /** Absent: picked from discovery (client_secret_basic preferred). Ignored for a public client. */
  tokenAuth?: OidcTokenAuth;
  /** The provider's own logout page (CIAM: GET {issuer}/logout?client_id&logout_redirect_uri&state); discovery's end_session_endpoint wins over it. */
  logoutUrl?: string;
  /** OIDC_PROVIDER_LOGOUT: Disconnect also sends the browser to the provider's logout (end_session_endpoint, else logoutUrl). False: local only. */
  providerLogout: boolean;
  /** OIDC_AUTH_PARAMS: extra authorization request parameters (prompt, max_age, acr_values, ui_locales, login_hint, …), never a reserved one. */
  authParams: Record<string, string>;
  /** `max_age` from authParams, in seconds: the ID token's auth_time is checked against it. */
  maxAgeSec?: number;
  /** OIDC_REQUIRE_ACR with `acr_values` in authParams: the ID token's acr must be one of these. */
  requiredAcr?: string[];
  /** OIDC_USERINFO: the userinfo endpoint is called after login and after each refresh, its claims merged over the ID token's. */
  userinfo: boolean;
  /** OIDC_CLOCK_TOLERANCE, in seconds: for iat, exp, nbf and auth_time of ID and logout tokens. */
  clockToleranceSec: number;
}

/**
 * Authorization request parameters xt-connect sets itself (or that would change how the answer
 * comes back): OIDC_AUTH_PARAMS may not name them.
 */
export const OIDC_RESERVED_AUTH_PARAMS = [
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'redirect_uri',
  'client_id',
  'response_type',
  'scope',
  'response_mode',
  'request',
  'request_uri',
] as const;

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  /** HOST: the address the public listener binds. */
  host: string;
  /** Prometheus metrics on their own listener (METRICS_PORT, METRICS_HOST); absent: no metrics listener. */
  metrics?: { port: number; host: string };
  publicUrl: URL;
  secureCookies: boolean;
  trustProxy: boolean | number | string;
  sessionSecret: string;
  /** SESSION_IDLE_TTL: a session unused this long ends (rolling). */
  sessionTtlMs: number;
  /** SESSION_MAX_AGE: a session ends this long after its login, however busy. */
  sessionMaxAgeMs: number;
  /** Accepted but deprecated settings, said once at start. */
  warnings: string[];
  sessionStore: 'sqlite' | 'redis' | 'memory';
  /** REDIS_URL, when Redis is one server (see `redis` for every kind). */
  redisUrl?: string;
  /** Where Redis is (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS) and how to reach it. Absent: none is set. */
  redis?: RedisConfig;
  /** Longest wait for any one Redis command; past it the request gets a 503. */
  redisCommandTimeoutMs: number;
  tokenEncryptionKeys?: string[];
  dataDir: string;
  logLevel: string;
  providerTimeoutMs: number;
  /** After SIGTERM: how long to keep serving (readiness failing, every answer closing its connection) before the listener closes. */
  shutdownDrainMs: number;
  /** Requests to /auth/* per client IP per window. */
  authRateLimit: { max: number; windowMs: number };
  refresh: { skewMs: number; backoffMaxMs: number };
  xt?: XtConfig;
  oidc?: OidcConfig;
  /** /api/xt and the guard for the person's XT.COM account (XT_API_ALLOW, XT_API_IP_LIMIT, XT_API_QUEUE_WAIT). */
  xtCalls: XtCallsConfig;
  /** Links from the institution's site (LINK_SECRET, LINK_REQUIRED). Absent: connections belong to browser sessions only. */
  link?: LinkConfig;
  /** The institution's backend API under /v1 (SERVICE_*). Absent: no /v1 routes. */
  service?: ServiceConfig;
  /** Connection events POSTed to the institution (WEBHOOK_*). Absent: none. */
  webhooks?: WebhookConfig;
  /** The institution's brand on the pages (SITE_*, SUPPORT_URL, SCOPE_TEXTS). */
  site: SiteConfig;
}

/** A text in every page language, or one text for all of them. */
export type ScopeText = string | Partial<Record<(typeof SCOPE_TEXT_LANGUAGES)[number], string>>;

export interface SiteConfig {
  /** SITE_NAME: in the header, the title and the copy. */
  name: string;
  /**
   * SITE_LOGO_URL: `url` is what the pages put in <img src> (always a same-origin path, so the CSP
   * keeps img-src 'self'); `file` is set when it is a file under DATA_DIR, served at that url.
   */
  logo?: { url: string; file?: string };
  /** SITE_ACCENT_COLOR, as #rrggbb. */
  accentColor: string;
  /** SITE_HOME_URL: where "Back to the site" goes. */
  homeUrl?: string;
  /** SUPPORT_URL: on every error page (an http(s) or mailto: URL). */
  supportUrl?: string;
  /** SCOPE_TEXTS: the institution's own words for what a scope lets the site do, by scope. */
  scopeTexts: Record<string, ScopeText>;
}

export interface RedisNode {
  host: string;
  port: number;
}

/** How to reach Redis: one server, a cluster or a Sentinel-watched master (exactly one of the three). */
export type RedisConfig = (
  | { mode: 'single'; url: string }
  | { mode: 'cluster'; nodes: RedisNode[] }
  | { mode: 'sentinel'; sentinels: RedisNode[]; name: string }
) & {
  /** REDIS_USERNAME / REDIS_PASSWORD (with REDIS_URL they may also be in the URL, but not in both places). */
  username?: string;
  password?: string;
  /**
   * REDIS_CA_FILE's certificates (PEM), read at start: the server's certificate must chain to them.
   * With a cluster or Sentinel they turn TLS on for every connection.
   */
  ca?: string;
  /** Whether the connections use TLS: rediss://, or REDIS_CA_FILE with a cluster or Sentinel. */
  tls: boolean;
};

export interface LinkConfig {
  /** The HS256 key the institution signs link tokens with. */
  secret: string;
  /** Refuse any login that does not come with a valid link. */
  required: boolean;
}

export interface ServiceKey {
  /** Logged with every call; the key never is. */
  name: string;
  key: string;
}

export interface ServiceConfig {
  keys: ServiceKey[];
  /** What the institution's backend may call on XT.COM for a subject (SERVICE_XT_API_ALLOW). */
  allow: AllowEntry[];
  /** SERVICE_ALLOW_API_KEY_CREATION: POST /user/account/api-key may be called (it must be on `allow` too). */
  allowApiKeyCreation: boolean;
  /** Requests per second per key name. */
  rateLimitPerSec: number;
}

export interface WebhookConfig {
  url: string;
  /** `whsec_…`, as the Standard Webhooks libraries take it. */
  secret: string;
  /** Past this age an undelivered event is dropped (and logged). */
  maxAgeMs: number;
}

export interface XtCallsConfig {
  /** What the site's pages may call through /api/xt. */
  allow: AllowEntry[];
  /** Calls to XT.COM per minute for the whole deployment (XT.COM allows 1000/min per IP). */
  ipLimitPerMinute: number;
  /** How long a call over a limit waits for a slot before it is answered 429. */
  queueWaitMs: number;
  /** The most of that budget one person may use in a minute (a fraction). */
  personShare: number;
  /** The part of it kept for the institution's /v1 calls, which people's calls never use (a fraction). */
  serviceShare: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
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
 * The mode the app runs in: NODE_ENV when it is set. Unset, only a PUBLIC_URL that is plain http
 * on loopback (a trial on one's own machine, the demo, the tests) means development; any other
 * PUBLIC_URL is a real deployment and runs as production, so the public placeholder and demo
 * secrets are refused there even when NODE_ENV was forgotten.
 */
export function runMode(nodeEnv: Config['env'] | undefined, publicUrl: URL): Config['env'] {
  return nodeEnv ?? (isLoopbackHttp(publicUrl) ? 'development' : 'production');
}

/**
 * TRUST_PROXY=true believes every X-Forwarded-For, so any client that reaches the app can choose
 * the IP the rate limit counts and the audit log records. Production refuses it unless
 * TRUST_PROXY_ALLOW_ANY=true says it is meant; elsewhere it is a warning.
 */
function checkTrustProxy(
  e: ParsedEnv,
  mode: Config['env'],
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

/** Parses and validates the environment. Throws ConfigError listing every problem. */
export function loadConfig(env: Env): Config {
  // Each variable is parsed on its own so that one bad value does not hide the others.
  const problems: string[] = [];
  const data: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(envSchema.shape)) {
    const r = (schema as z.ZodType).safeParse(env[key]);
    if (r.success) data[key] = r.data;
    else problems.push(...r.error.issues.map((i) => `${key}: ${i.message}`));
  }
  // Fill the gaps left by bad values with their defaults, so the cross-checks below still run.
  const e: z.infer<typeof envSchema> = { ...envSchema.parse({}), ...data };
  const demo = e.XT_CONNECT_MODE === 'demo';

  const publicUrl = new URL(e.PUBLIC_URL);
  if (publicUrl.pathname !== '/' || publicUrl.search || publicUrl.hash) {
    problems.push('PUBLIC_URL: must be an origin only, like https://connect.example.com (no path, query or fragment)');
  }
  const mode = runMode(e.NODE_ENV, publicUrl);
  // How a refusal below names the mode it comes from ('' when not in production).
  const inProduction =
    mode !== 'production'
      ? ''
      : e.NODE_ENV
        ? 'with NODE_ENV=production'
        : 'in production (NODE_ENV is unset and PUBLIC_URL is not http on loopback)';

  const sessionSecret = e.SESSION_SECRET ?? (demo ? DEMO_SESSION_SECRET : undefined);
  if (!sessionSecret) problems.push('SESSION_SECRET: required (at least 32 characters)');
  else if (sessionSecret.length < 32) problems.push('SESSION_SECRET: must be at least 32 characters');

  const redis = loadRedis(e, problems);
  if (e.REDIS_COMMAND_TIMEOUT < 1 || e.REDIS_COMMAND_TIMEOUT > 60_000)
    problems.push('REDIS_COMMAND_TIMEOUT: must be between 1ms and 60s');
  if (e.SHUTDOWN_DRAIN > 120_000) problems.push('SHUTDOWN_DRAIN: must be at most 2m');
  const warnings: string[] = [];
  const trustProxy = checkTrustProxy(e, mode, problems, warnings);
  const sessions = sessionLifetimes(e, problems, warnings);
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (metrics are never served on the public port)');
  }

  let tokenEncryptionKeys: string[] | undefined;
  if (e.TOKEN_ENCRYPTION_KEYS) {
    tokenEncryptionKeys = e.TOKEN_ENCRYPTION_KEYS.split(',').map((k) => k.trim());
    tokenEncryptionKeys.forEach((k, i) => {
      const bytes = /^[A-Za-z0-9+/_-]+=*$/.test(k) ? Buffer.from(k, 'base64') : Buffer.alloc(0);
      if (bytes.length !== 32)
        problems.push(`TOKEN_ENCRYPTION_KEYS: key #${i + 1} must be 32 bytes in base64 (openssl rand -base64 32)`);
    });
  }

  let xt: XtConfig | undefined;
  if (e.XT_ENABLED) {
    const clientId = e.XT_CLIENT_ID ?? (demo ? 'demo-client' : undefined);
    const clientSecret = e.XT_CLIENT_SECRET ?? (demo ? DEMO_XT_CLIENT_SECRET : undefined);
    if (inProduction && demo && !e.XT_CLIENT_SECRET) {
      problems.push(`XT_CLIENT_SECRET: required ${inProduction} (the demo's built-in client secret is public)`);
    }
    if (!clientId) problems.push('XT_CLIENT_ID: required (issued by XT.COM), or set XT_ENABLED=false');
    if (!clientSecret) problems.push('XT_CLIENT_SECRET: required (issued by XT.COM), or set XT_ENABLED=false');
    // The client secret travels in the token URL's query: https only, as for every provider endpoint.
    const endpointsOk = [
      checkProviderUrl('XT_AUTHORIZE_URL', e.XT_AUTHORIZE_URL.replace('{lang}', 'en'), problems),
      checkProviderUrl('XT_TOKEN_URL', e.XT_TOKEN_URL, problems),
      checkProviderUrl('XT_API_URL', e.XT_API_URL, problems),
      checkRegisterUrl(e.XT_REGISTER_URL, problems),
    ].every(Boolean);
    if (e.XT_RECV_WINDOW < 1 || e.XT_RECV_WINDOW > 60_000)
      problems.push('XT_RECV_WINDOW: must be between 1ms and 60s (XT.COM allows at most 60000 ms)');
    if (!e.XT_API_KEY !== !e.XT_API_SECRET)
      problems.push('XT_API_KEY, XT_API_SECRET: set both or neither (unset, the client id and secret sign)');
    if (clientId && clientSecret && endpointsOk) {
      xt = {
        id: 'xt',
        label: e.XT_LABEL,
        clientId,
        clientSecret,
        authorizeUrl: e.XT_AUTHORIZE_URL,
        tokenUrl: e.XT_TOKEN_URL,
        apiUrl: e.XT_API_URL.replace(/\/+$/, ''),
        scope: e.XT_SCOPE,
        expiresInUnit: e.XT_EXPIRES_IN_UNIT,
        apiKey: e.XT_API_KEY ?? clientId,
        apiSecret: e.XT_API_SECRET ?? clientSecret,
        signStyle: e.XT_SIGN_STYLE,
        recvWindowMs: e.XT_RECV_WINDOW,
        registerUrl: e.XT_REGISTER_URL,
      };
    }
  }

  const oidc = loadOidc(e, problems);
  const xtAllow = parseAllowList(e.XT_API_ALLOW ?? DEFAULT_XT_API_ALLOW);
  problems.push(...xtAllow.problems);
  if (e.XT_API_QUEUE_WAIT > 10_000)
    problems.push('XT_API_QUEUE_WAIT: must be at most 10s (a waiting call holds its request open)');
  checkShares(e, problems);

  const link = loadLink(e, problems);
  const service = loadService(e, problems);
  const webhooks = loadWebhooks(e, problems, warnings);
  const site = loadSite(e, problems);
  if (mode === 'production') warnings.push(...unbrandedWarnings(env));

  if (inProduction) {
    for (const [key, placeholder] of Object.entries(EXAMPLE_PLACEHOLDERS) as [
      keyof typeof EXAMPLE_PLACEHOLDERS,
      string,
    ][]) {
      if (e[key]?.trim() === placeholder)
        problems.push(
          `${key}: still the placeholder from .env.example; set a real value (placeholders are refused ${inProduction})`,
        );
    }
    if (sessionSecret === DEMO_SESSION_SECRET) {
      problems.push(
        `SESSION_SECRET: required ${inProduction} (the demo's built-in secret is public); generate one with: openssl rand -base64 48`,
      );
    }
  }

  if (problems.length) throw new ConfigError(problems);

  return {
    env: mode,
    port: e.PORT,
    host: e.HOST ?? (demo ? '127.0.0.1' : '0.0.0.0'),
    metrics: e.METRICS_PORT === undefined ? undefined : { port: e.METRICS_PORT, host: e.METRICS_HOST },
    publicUrl,
    secureCookies: publicUrl.protocol === 'https:',
    trustProxy,
    sessionSecret: sessionSecret!,
    sessionTtlMs: sessions.idleMs,
    sessionMaxAgeMs: sessions.maxAgeMs,
    warnings,
    sessionStore: e.SESSION_STORE,
    redisUrl: redis?.mode === 'single' ? redis.url : undefined,
    redis,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT,
    tokenEncryptionKeys,
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    providerTimeoutMs: e.PROVIDER_TIMEOUT,
    shutdownDrainMs: e.SHUTDOWN_DRAIN,
    authRateLimit: { max: e.AUTH_RATE_LIMIT, windowMs: e.AUTH_RATE_WINDOW },
    refresh: { skewMs: e.REFRESH_SKEW, backoffMaxMs: e.REFRESH_BACKOFF_MAX },
    xt,
    oidc,
    xtCalls: {
      allow: xtAllow.entries,
      ipLimitPerMinute: e.XT_API_IP_LIMIT,
      queueWaitMs: e.XT_API_QUEUE_WAIT,
      personShare: e.XT_API_PERSON_SHARE,
      serviceShare: e.XT_API_SERVICE_SHARE,
    },
    link,
    service,
    webhooks,
    site,
  };
}

/** Every environment variable the app reads, by name (docs/configuration.md and .env.example list exactly these). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

type ParsedEnv = z.infer<typeof envSchema>;

/** The shares of the XT.COM budget must leave people something, and one person's must fit in what people get. */
function checkShares(e: ParsedEnv, problems: string[]): void {
  const person = e.XT_API_PERSON_SHARE;
  const service = e.XT_API_SERVICE_SHARE;
  if (person + service > 1 + 1e-9) {
    problems.push(
      `XT_API_PERSON_SHARE, XT_API_SERVICE_SHARE: together at most 1 (one person's share comes out of what the service's leaves), now ${person} + ${service}`,
    );
  } else if (e.XT_API_IP_LIMIT - Math.ceil(service * e.XT_API_IP_LIMIT - 1e-9) < 1) {
    problems.push(
      `XT_API_SERVICE_SHARE: keeps all ${e.XT_API_IP_LIMIT} calls a minute of XT_API_IP_LIMIT for /v1 and leaves people none; lower it or raise XT_API_IP_LIMIT`,
    );
  }
}

const DEFAULT_IDLE_TTL_MS = 14 * 86_400_000;

/** SESSION_IDLE_TTL (or the deprecated SESSION_TTL) and SESSION_MAX_AGE. */
function sessionLifetimes(e: ParsedEnv, problems: string[], warnings: string[]): { idleMs: number; maxAgeMs: number } {
  if (e.SESSION_TTL !== undefined && e.SESSION_IDLE_TTL !== undefined)
    problems.push('SESSION_TTL: replaced by SESSION_IDLE_TTL; set only SESSION_IDLE_TTL');
  else if (e.SESSION_TTL !== undefined)
    warnings.push(
      'SESSION_TTL is deprecated: it is read as SESSION_IDLE_TTL (rolling); rename it, and see SESSION_MAX_AGE',
    );
  const idleMs = e.SESSION_IDLE_TTL ?? e.SESSION_TTL ?? DEFAULT_IDLE_TTL_MS;
  const maxAgeMs = e.SESSION_MAX_AGE;
  if (idleMs < 60_000) problems.push('SESSION_IDLE_TTL: must be at least 1m');
  if (maxAgeMs < 60_000) problems.push('SESSION_MAX_AGE: must be at least 1m');
  if (maxAgeMs > 400 * 86_400_000)
    problems.push('SESSION_MAX_AGE: must be at most 400d (browsers cap cookie lifetimes there)');
  return { idleMs, maxAgeMs };
}

/** `host:port` (the host may be a [bracketed] IPv6 address), or undefined. */
function parseNode(text: string): RedisNode | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function parseNodes(name: string, list: string, problems: string[]): RedisNode[] {
  const nodes: RedisNode[] = [];
  for (const [i, entry] of list.split(',').entries()) {
    const node = parseNode(entry);
    if (node) nodes.push(node);
    else problems.push(`${name}: entry #${i + 1} ("${entry.trim()}") must be host:port`);
  }
  return nodes;
}

/**
 * REDIS_URL (one server), REDIS_CLUSTER_NODES (a cluster) or REDIS_SENTINELS with
 * REDIS_SENTINEL_NAME (Sentinel), with REDIS_USERNAME, REDIS_PASSWORD and REDIS_CA_FILE.
 */
function loadRedis(e: ParsedEnv, problems: string[]): RedisConfig | undefined {
  const before = problems.length;
  const set = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter((k) => e[k] !== undefined);
  if (set.length > 1) problems.push(`${set.join(', ')}: set only one (one server, a cluster, or Sentinel)`);
  if (e.SESSION_STORE === 'redis' && set.length === 0) {
    problems.push(
      'REDIS_URL: required when SESSION_STORE=redis (or REDIS_CLUSTER_NODES for a cluster, or REDIS_SENTINELS and REDIS_SENTINEL_NAME for Sentinel)',
    );
  }
  if (e.REDIS_SENTINELS && !e.REDIS_SENTINEL_NAME)
    problems.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name Sentinel monitors the master under)');
  if (e.REDIS_SENTINEL_NAME && !e.REDIS_SENTINELS)
    problems.push('REDIS_SENTINELS: required when REDIS_SENTINEL_NAME is set');
  if (e.REDIS_USERNAME && !e.REDIS_PASSWORD) problems.push('REDIS_USERNAME: needs REDIS_PASSWORD');

  let url: URL | undefined;
  if (e.REDIS_URL) {
    try {
      url = new URL(e.REDIS_URL);
    } catch {
      url = undefined;
    }
    // Never echo the URL: it may hold a password.
    if (!url || !/^rediss?:$/.test(url.protocol) || !url.hostname)
      problems.push('REDIS_URL: must be a redis:// or rediss:// URL');
    else {
      if (url.password && e.REDIS_PASSWORD)
        problems.push('REDIS_PASSWORD: REDIS_URL carries a password already; set it in one place');
      if (url.username && e.REDIS_USERNAME)
        problems.push('REDIS_USERNAME: REDIS_URL carries a user name already; set it in one place');
      if (e.REDIS_CA_FILE && url.protocol !== 'rediss:')
        problems.push('REDIS_CA_FILE: set, but REDIS_URL is redis:// (use rediss:// for TLS)');
    }
  }
  const nodes = e.REDIS_CLUSTER_NODES ? parseNodes('REDIS_CLUSTER_NODES', e.REDIS_CLUSTER_NODES, problems) : [];
  const sentinels = e.REDIS_SENTINELS ? parseNodes('REDIS_SENTINELS', e.REDIS_SENTINELS, problems) : [];

  let ca: string | undefined;
  if (e.REDIS_CA_FILE) {
    try {
      ca = fs.readFileSync(e.REDIS_CA_FILE, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        problems.push(`REDIS_CA_FILE: ${e.REDIS_CA_FILE} holds no PEM certificate`);
    } catch (err) {
      problems.push(
        `REDIS_CA_FILE: cannot read ${e.REDIS_CA_FILE} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }

  if (problems.length > before || set.length !== 1) return undefined;
  const common = { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, ca };
  if (url) return { mode: 'single', url: e.REDIS_URL!, ...common, tls: url.protocol === 'rediss:' };
  if (e.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes, ...common, tls: !!ca };
  return { mode: 'sentinel', sentinels, name: e.REDIS_SENTINEL_NAME!, ...common, tls: !!ca };
}

function loadLink(e: ParsedEnv, problems: string[]): LinkConfig | undefined {
  if (e.LINK_REQUIRED && !e.LINK_SECRET)
    problems.push('LINK_REQUIRED: needs LINK_SECRET (the key the site signs its link tokens with)');
  if (!e.LINK_SECRET) return undefined;
  if (e.LINK_SECRET.length < 32) {
    problems.push('LINK_SECRET: must be at least 32 characters (openssl rand -base64 48)');
    return undefined;
  }
  return { secret: e.LINK_SECRET, required: e.LINK_REQUIRED };
}

const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function loadService(e: ParsedEnv, problems: string[]): ServiceConfig | undefined {
  if (!e.SERVICE_API_KEYS) {
    for (const key of ['SERVICE_XT_API_ALLOW'] as const) {
      if (e[key] !== undefined) problems.push(`SERVICE_API_KEYS: required when ${key} is set`);
    }
    return undefined;
  }
  const keys: ServiceKey[] = [];
  for (const [i, entry] of e.SERVICE_API_KEYS.split(',').entries()) {
    const at = entry.indexOf(':');
    const name = entry.slice(0, Math.max(0, at)).trim();
    const key = entry.slice(at + 1).trim();
    // Never echo the entry: it holds a key.
    if (at < 0 || !KEY_NAME.test(name))
      problems.push(`SERVICE_API_KEYS: entry #${i + 1} must be name:key, the name of letters, digits and . _ -`);
    else if (key.length < 32)
      problems.push(
        `SERVICE_API_KEYS: the key named "${name}" must be at least 32 characters (openssl rand -base64 32)`,
      );
    else if (!/^[\x21-\x7e]+$/.test(key))
      problems.push(
        `SERVICE_API_KEYS: the key named "${name}" may hold printable ASCII only, without spaces (it travels in an HTTP header)`,
      );
    else if (keys.some((k) => k.name === name)) problems.push(`SERVICE_API_KEYS: the name "${name}" is used twice`);
    else keys.push({ name, key });
  }
  const allow = parseAllowList(e.SERVICE_XT_API_ALLOW ?? DEFAULT_XT_API_ALLOW, {
    name: 'SERVICE_XT_API_ALLOW',
    apiKeyCreation: e.SERVICE_ALLOW_API_KEY_CREATION,
  });
  problems.push(...allow.problems);
  const listsApiKey = allow.entries.some((a) => a.text === API_KEY_CREATION);
  if (e.SERVICE_ALLOW_API_KEY_CREATION && !listsApiKey) {
    problems.push(`SERVICE_ALLOW_API_KEY_CREATION: set, but SERVICE_XT_API_ALLOW does not list "${API_KEY_CREATION}"`);
  }
  return {
    keys,
    allow: allow.entries,
    allowApiKeyCreation: e.SERVICE_ALLOW_API_KEY_CREATION,
    rateLimitPerSec: e.SERVICE_RATE_LIMIT,
  };
}

function loadWebhooks(e: ParsedEnv, problems: string[], warnings: string[]): WebhookConfig | undefined {
  if (!e.WEBHOOK_URL && !e.WEBHOOK_SECRET) return undefined;
  if (!e.WEBHOOK_URL) problems.push('WEBHOOK_URL: required when WEBHOOK_SECRET is set');
  if (!e.WEBHOOK_SECRET) problems.push('WEBHOOK_SECRET: required when WEBHOOK_URL is set (whsec_ followed by base64)');
  let urlOk = false;
  if (e.WEBHOOK_URL) {
    try {
      const u = new URL(e.WEBHOOK_URL);
      urlOk = (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && !u.hash;
    } catch {
      urlOk = false;
    }
    if (!urlOk) problems.push('WEBHOOK_URL: must be an http(s) URL without credentials or a fragment');
    else if (new URL(e.WEBHOOK_URL).protocol === 'http:' && !isLoopbackHttp(new URL(e.WEBHOOK_URL))) {
      warnings.push(
        'WEBHOOK_URL is plain http: events (user ids) cross the network unencrypted; use https unless the receiver is on a private network',
      );
    }
  }
  let secretOk = false;
  if (e.WEBHOOK_SECRET) {
    // The form the Standard Webhooks libraries take: whsec_ and base64 (checked here without loading one).
    secretOk =
      /^whsec_[A-Za-z0-9+/]+=*$/.test(e.WEBHOOK_SECRET) &&
      Buffer.from(e.WEBHOOK_SECRET.slice(6), 'base64').length >= 24;
    if (!secretOk)
      problems.push(
        'WEBHOOK_SECRET: must be whsec_ followed by at least 24 bytes in base64 (e.g. whsec_$(openssl rand -base64 32))',
      );
  }
  if (e.WEBHOOK_MAX_AGE < 60_000 || e.WEBHOOK_MAX_AGE > 30 * 86_400_000)
    problems.push('WEBHOOK_MAX_AGE: must be between 1m and 30d');
  if (!urlOk || !secretOk) return undefined;
  return { url: e.WEBHOOK_URL!, secret: e.WEBHOOK_SECRET!, maxAgeMs: e.WEBHOOK_MAX_AGE };
}

/** Plain http is tolerated on loopback only (the bundled stand-ins, local test servers). */
export const isLoopbackHttp = (url: URL) =>
  url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

/**
 * An http(s) URL for a provider endpoint. Plain http is accepted on loopback only (the
 * bundled stand-in, a local test server): anywhere else tokens would cross the network in clear.
 */
function checkProviderUrl(name: string, value: string, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name}: must be an http(s) URL`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`${name}: must be an http(s) URL`);
    return undefined;
  }
  if (url.protocol === 'http:' && !isLoopbackHttp(url)) {
    problems.push(`${name}: must use https (plain http is allowed for 127.0.0.1 and localhost only)`);
    return undefined;
  }
  if (url.search || url.hash || url.username || url.password) {
    problems.push(`${name}: must not carry a query, a fragment or credentials`);
    return undefined;
  }
  return url;
}

/** The OIDC provider is enabled by OIDC_ISSUER; every other OIDC_* setting is checked against it. */
function loadOidc(e: z.infer<typeof envSchema>, problems: string[]): OidcConfig | undefined {
  if (!e.OIDC_ISSUER) {
    // A half-configured provider would silently not appear: say so instead.
    for (const key of [
      'OIDC_CLIENT_ID',
      'OIDC_CLIENT_SECRET',
      'OIDC_LOGOUT_URL',
      'OIDC_TOKEN_AUTH',
      'OIDC_AUTH_PARAMS',
    ] as const) {
      if (e[key] !== undefined) problems.push(`OIDC_ISSUER: required when ${key} is set`);
    }
    return undefined;
  }
  const issuer = checkProviderUrl('OIDC_ISSUER', e.OIDC_ISSUER, problems);
  const logoutUrl =
    e.OIDC_LOGOUT_URL === undefined ? undefined : checkProviderUrl('OIDC_LOGOUT_URL', e.OIDC_LOGOUT_URL, problems);
  if (!e.OIDC_CLIENT_ID)
    problems.push('OIDC_CLIENT_ID: required when OIDC_ISSUER is set (issued by the provider with the client)');
  if (e.OIDC_TOKEN_AUTH && !e.OIDC_CLIENT_SECRET) {
    problems.push('OIDC_TOKEN_AUTH: needs OIDC_CLIENT_SECRET (a client without a secret is public and uses PKCE only)');
  }
  const scopes = e.OIDC_SCOPE.split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) problems.push('OIDC_SCOPE: must include openid (the ID token identifies the person)');
  if (scopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)))
    problems.push('OIDC_SCOPE: contains characters a scope cannot have');

  if (!e.OIDC_PROVIDER_LOGOUT && e.OIDC_LOGOUT_URL !== undefined) {
    problems.push('OIDC_LOGOUT_URL: set, but OIDC_PROVIDER_LOGOUT=false keeps logout local; unset one of them');
  }
  const before = problems.length;
  const authParams = e.OIDC_AUTH_PARAMS === undefined ? {} : parseAuthParams(e.OIDC_AUTH_PARAMS, problems);
  const maxAge = authParams.max_age;
  if (maxAge !== undefined && !/^\d{1,9}$/.test(maxAge))
    problems.push('OIDC_AUTH_PARAMS: max_age must be a whole number of seconds');
  const acr = authParams.acr_values?.split(' ').filter(Boolean);
  if (e.OIDC_REQUIRE_ACR && !acr?.length)
    problems.push('OIDC_REQUIRE_ACR: needs acr_values in OIDC_AUTH_PARAMS (the levels to require)');
  const tolerance = e.OIDC_CLOCK_TOLERANCE;
  if (tolerance > 10 * 60_000) problems.push('OIDC_CLOCK_TOLERANCE: must be at most 10m');

  if (!issuer || !e.OIDC_CLIENT_ID || (e.OIDC_LOGOUT_URL !== undefined && !logoutUrl) || problems.length > before)
    return undefined;
  return {
    id: 'oidc',
    label: e.OIDC_LABEL,
    issuer: e.OIDC_ISSUER,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: e.OIDC_CLIENT_SECRET,
    scope: scopes.join(' '),
    tokenAuth: e.OIDC_CLIENT_SECRET ? e.OIDC_TOKEN_AUTH : undefined,
    logoutUrl: logoutUrl?.toString(),
    providerLogout: e.OIDC_PROVIDER_LOGOUT,
    authParams,
    maxAgeSec: maxAge === undefined ? undefined : Number(maxAge),
    requiredAcr: e.OIDC_REQUIRE_ACR ? acr : undefined,
    userinfo: e.OIDC_USERINFO,
    clockToleranceSec: Math.ceil(tolerance / 1000),
  };
}

/**
 * OIDC_AUTH_PARAMS: `key=value&key=value`, percent-encoded as in a URL query. Each key at most
 * once, none of OIDC_RESERVED_AUTH_PARAMS, values of printable characters.
 */
export function parseAuthParams(raw: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, part] of raw.split('&').entries()) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' ')).trim();
      value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' ')).trim();
    } catch {
      problems.push(`OIDC_AUTH_PARAMS: entry #${i + 1} is not valid percent-encoding`);
      continue;
    }
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key)) {
      problems.push(`OIDC_AUTH_PARAMS: entry #${i + 1} must be key=value, the key of letters, digits and _ . -`);
      continue;
    }
    if ((OIDC_RESERVED_AUTH_PARAMS as readonly string[]).includes(key)) {
      problems.push(`OIDC_AUTH_PARAMS: ${key} is set by xt-connect itself and cannot be given here`);
      continue;
    }
    if (Object.hasOwn(out, key)) {
      problems.push(`OIDC_AUTH_PARAMS: ${key} is given twice`);
      continue;
    }
    if (value === '' || value.length > 1024 || /\p{Cc}/u.test(value)) {
      problems.push(`OIDC_AUTH_PARAMS: the value of ${key} must be 1 to 1024 printable characters`);
      continue;
    }
    out[key] = value;
  }
  return out;
}

/** XT_REGISTER_URL: an https URL (http on loopback) once `{lang}` and `{client_id}` are filled in; no other placeholder. */
function checkRegisterUrl(value: string, problems: string[]): boolean {
  const other = value.replace(/\{(lang|client_id)\}/g, '').match(/\{[^}]*\}/);
  if (other) {
    problems.push(`XT_REGISTER_URL: ${other[0]} is not a placeholder it knows (only {lang} and {client_id})`);
    return false;
  }
  let url: URL;
  try {
    url = new URL(value.replace(/\{lang\}/g, 'en').replace(/\{client_id\}/g, 'client'));
  } catch {
    problems.push('XT_REGISTER_URL: must be an http(s) URL');
    return false;
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
    problems.push('XT_REGISTER_URL: must use https (plain http is allowed for 127.0.0.1 and localhost only)');
    return false;
  }
  if (url.username || url.password || url.hash) {
    problems.push('XT_REGISTER_URL: must not carry credentials or a fragment');
    return false;
  }
  return true;
}

/** A same-origin path that can go in an attribute as it is: one leading slash, no quotes, spaces or backslashes. */
const SAME_ORIGIN_PATH = /^\/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/;
/** An image file under DATA_DIR: a relative path of plain segments, with an image extension. */
const LOGO_FILE = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*\.(png|svg|jpe?g|webp|gif|ico)$/i;

/**
 * In production, one warning when the pages would show people "xt-connect" as the institution's
 * name, or error pages without a way to reach its support.
 */
function unbrandedWarnings(env: Env): string[] {
  const unset = (['SITE_NAME', 'SUPPORT_URL'] as const).filter((key) => !env[key]?.trim());
  if (unset.length === 0) return [];
  return [
    `${unset.join(' and ')} unset: people see "xt-connect" as the site's name and error pages without a support link` +
      ' (set both: see docs/configuration.md)',
  ];
}

/** SITE_NAME, SITE_LOGO_URL, SITE_ACCENT_COLOR, SITE_HOME_URL, SUPPORT_URL and SCOPE_TEXTS. */
function loadSite(e: ParsedEnv, problems: string[]): SiteConfig {
  let logo: SiteConfig['logo'];
  const rawLogo = e.SITE_LOGO_URL?.trim();
  if (rawLogo !== undefined) {
    if (SAME_ORIGIN_PATH.test(rawLogo)) logo = { url: rawLogo };
    else if (LOGO_FILE.test(rawLogo) && !rawLogo.split('/').includes('..')) {
      const file = path.resolve(e.DATA_DIR, rawLogo);
      if (!fs.existsSync(file) || !fs.statSync(file).isFile())
        problems.push(`SITE_LOGO_URL: no file ${rawLogo} in DATA_DIR (${path.resolve(e.DATA_DIR)})`);
      else logo = { url: `/brand/logo.${path.extname(file).slice(1).toLowerCase()}`, file };
    } else {
      problems.push(
        'SITE_LOGO_URL: must be a path on this site (e.g. /static/logo.svg) or the name of an image file in DATA_DIR (e.g. logo.png); the pages load images from this site only',
      );
    }
  }

  const hex = e.SITE_ACCENT_COLOR.slice(1).toLowerCase();
  const accentColor = `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;

  const homeUrl = e.SITE_HOME_URL?.trim();
  if (homeUrl !== undefined && !SAME_ORIGIN_PATH.test(homeUrl) && !isWebUrl(homeUrl)) {
    problems.push('SITE_HOME_URL: must be an http(s) URL or a path on this site');
  }
  const supportUrl = e.SUPPORT_URL?.trim();
  if (supportUrl !== undefined && !isWebUrl(supportUrl) && !/^mailto:[^\s@]+@[^\s@]+$/.test(supportUrl)) {
    problems.push('SUPPORT_URL: must be an http(s) URL or mailto:address');
  }

  return {
    name: e.SITE_NAME,
    logo,
    accentColor,
    homeUrl,
    supportUrl,
    scopeTexts: e.SCOPE_TEXTS === undefined ? {} : parseScopeTexts(e.SCOPE_TEXTS, problems),
  };
}

function isWebUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
  } catch {
    return false;
  }
}

/**
 * SCOPE_TEXTS: a JSON object from scope to the words shown for it, either one text for every
 * language or an object with `en`, `zh-CN` and `zh-Hant` texts (missing ones fall back to the built-in words).
 */
export function parseScopeTexts(raw: string, problems: string[]): Record<string, ScopeText> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push('SCOPE_TEXTS: must be a JSON object, e.g. {"spotAssets": "See your spot balances"}');
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('SCOPE_TEXTS: must be a JSON object, e.g. {"spotAssets": "See your spot balances"}');
    return {};
  }
  const out: Record<string, ScopeText> = {};
  const okText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '' && v.length <= 200;
  for (const [scope, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(scope)) {
      problems.push(`SCOPE_TEXTS: "${scope.slice(0, 40)}" is not a scope`);
      continue;
    }
    if (okText(value)) {
      out[scope] = value.trim();
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(
        `SCOPE_TEXTS: the text for "${scope}" must be a string of 1 to 200 characters, or {"en": …, "zh-CN": …, "zh-Hant": …}`,
      );
      continue;
    }
    const texts: Partial<Record<(typeof SCOPE_TEXT_LANGUAGES)[number], string>> = {};
    for (const [lang, text] of Object.entries(value as Record<string, unknown>)) {
      if (!(SCOPE_TEXT_LANGUAGES as readonly string[]).includes(lang)) {
        problems.push(
          `SCOPE_TEXTS: "${scope}" names the language "${lang.slice(0, 20)}"; the pages speak ${SCOPE_TEXT_LANGUAGES.join(', ')}`,
        );
      } else if (!okText(text))
        problems.push(`SCOPE_TEXTS: the ${lang} text for "${scope}" must be a string of 1 to 200 characters`);
      else texts[lang as (typeof SCOPE_TEXT_LANGUAGES)[number]] = text.trim();
    }
    out[scope] = texts;
  }
  return out;
}

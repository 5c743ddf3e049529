/**
 * The topology itself, brought up on free 127.0.0.1 ports: a redis-server (append-only file on),
 * the stand-ins, two replicas (`npm start`'s command on the built dist/), and nginx with the real
 * deploy/nginx.conf and a certificate from deploy/gen-cert.sh; and how a replica is started,
 * asked whether it is ready, and stopped.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IMAGE_NODE_OPTIONS } from '../helpers/image.js';
import { freePort } from '../helpers/ports.js';
import { ACCESS_TTL_S, AUTH_RATE_LIMIT, REFRESH_SKEW_MS, ROOT, TMP, say, sleep, waitFor } from './common.js';
import { fetchRaw, trustCa } from './http.js';
import { type Snapshot, scrape } from './observe.js';
import { Proc } from './procs.js';

export interface Replica {
  name: 'A' | 'B';
  proc: Proc;
  port: number;
  metricsPort: number;
  /** The last scrape of each generation (its counters start from 0 when it starts again). */
  lastByGen: Map<number, Snapshot>;
  maxRss: number;
  /** CPU seconds at the start of the load, per generation. */
  cpuAtLoadStart: Map<number, number>;
}

/** The XT.COM stand-in's counters (its control port's /stats). */
export type Stats = {
  xt: {
    calls: Record<string, number>;
    refreshTokens: { presented: number; distinct: number; reused: number; byUser: Record<string, number> };
  };
};

export interface Topology {
  /** nginx: https://127.0.0.1:<port>, the PUBLIC_URL. */
  base: string;
  /** The OIDC stand-in's issuer. */
  oidc: string;
  nginxDir: string;
  nginx: Proc;
  redisPort: number;
  redis: Proc;
  redisUp: () => Promise<boolean>;
  replicas: Replica[];
  stats: () => Promise<Stats>;
}

interface Ports {
  redisPort: number;
  xtPort: number;
  oidcPort: number;
  controlPort: number;
  portA: number;
  portB: number;
  metricsA: number;
  metricsB: number;
  nginxPort: number;
}

/** Nine distinct free ports. */
async function freePorts(): Promise<Ports> {
  const ports = new Set<number>();
  while (ports.size < 9) ports.add(await freePort());
  const [redisPort, xtPort, oidcPort, controlPort, portA, portB, metricsA, metricsB, nginxPort] = [...ports] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { redisPort, xtPort, oidcPort, controlPort, portA, portB, metricsA, metricsB, nginxPort };
}

/** Redis, with its append-only file in its own directory so a restart keeps every key. */
async function startRedis(port: number): Promise<{ redis: Proc; redisUp: () => Promise<boolean> }> {
  const redisDir = path.join(TMP, 'redis');
  fs.mkdirSync(redisDir);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir];
  const redis = new Proc(
    'redis',
    'redis-server',
    [...args, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
    { cwd: redisDir, env: { PATH: process.env.PATH } },
  );
  const redisUp = async () => {
    try {
      return (
        execFileSync('redis-cli', ['-p', String(port), 'ping'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim() === 'PONG'
      );
    } catch {
      return false;
    }
  };
  redis.start();
  await waitFor('redis-server', 10_000, redisUp);
  return { redis, redisUp };
}

/** The stand-ins (scripts/standins.ts), access tokens of ACCESS_TTL_S seconds; `stats` reads the XT.COM one's counters. */
async function startStandins(ports: Ports, base: string): Promise<() => Promise<Stats>> {
  const standins = new Proc('standins', process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/standins.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      STANDINS_HOST: '127.0.0.1',
      XT_STANDIN_PORT: String(ports.xtPort),
      OIDC_STANDIN_PORT: String(ports.oidcPort),
      STANDINS_CONTROL_PORT: String(ports.controlPort),
      PUBLIC_URL: base,
      STANDIN_ACCESS_TTL: String(ACCESS_TTL_S),
      STANDIN_XT_IP_LIMIT: '1000000', // the replicas' calls all come from 127.0.0.1; XT.COM's 1000/min per IP is not what is measured
    },
  });
  standins.start();
  await waitFor('the stand-ins', 30_000, () => standins.out.includes('standins ready'));
  return async () => JSON.parse((await fetchRaw(`http://127.0.0.1:${ports.controlPort}/stats`)).body) as Stats;
}

/** A replica's environment: production, Redis sessions, behind one proxy, XT.COM and the CIAM at the stand-ins. */
function replicaEnv(
  at: { port: number; metricsPort: number; redisPort: number; base: string; xt: string; oidc: string },
  sessionSecret: string,
): NodeJS.ProcessEnv {
  const { xt, oidc } = at;
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    NODE_OPTIONS: IMAGE_NODE_OPTIONS, // as the image runs it (the Dockerfile's ENV)
    PORT: String(at.port),
    METRICS_PORT: String(at.metricsPort),
    METRICS_HOST: '127.0.0.1',
    PUBLIC_URL: at.base,
    TRUST_PROXY: '1',
    SESSION_STORE: 'redis',
    REDIS_URL: `redis://127.0.0.1:${at.redisPort}`,
    SESSION_SECRET: sessionSecret,
    SHUTDOWN_DRAIN: '2s',
    LOG_LEVEL: 'info',
    AUTH_RATE_LIMIT: String(AUTH_RATE_LIMIT),
    REFRESH_SKEW: `${REFRESH_SKEW_MS}ms`,
    XT_API_IP_LIMIT: '100000',
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: 'demo-secret',
    XT_AUTHORIZE_URL: `${xt}/{lang}/accounts/oauth2`,
    XT_TOKEN_URL: `${xt}/public/uaa/oauth2/token`,
    XT_API_URL: xt,
    OIDC_ISSUER: oidc,
    OIDC_CLIENT_ID: 'ciam-web-app',
    OIDC_CLIENT_SECRET: 'ciam-web-app-secret-0123456789abcdef',
    OIDC_LABEL: 'Tencent Cloud CIAM (stand-in)',
    OIDC_LOGOUT_URL: `${oidc}/logout`,
    LINK_SECRET: 'topology-link-secret-0123456789abcdef',
  };
}

/** The two replicas, not started yet: one session secret, each in an empty directory of its own. */
function makeReplicas(ports: Ports, base: string, xt: string, oidc: string): Replica[] {
  const sessionSecret = randomBytes(32).toString('base64');
  return (
    [
      ['A', ports.portA, ports.metricsA],
      ['B', ports.portB, ports.metricsB],
    ] as const
  ).map(([name, port, metricsPort]) => {
    const dir = path.join(TMP, `app-${name}`);
    fs.mkdirSync(dir);
    // npm start's command, run directly (as the image runs node as PID 1), so SIGTERM reaches the
    // server itself; from an empty directory, so no .env of the developer's is read.
    const proc = new Proc(`app-${name}`, process.execPath, [path.join(ROOT, 'scripts/start.mjs')], {
      cwd: dir,
      env: replicaEnv({ port, metricsPort, redisPort: ports.redisPort, base, xt, oidc }, sessionSecret),
    });
    return { name, proc, port, metricsPort, lastByGen: new Map(), maxRss: 0, cpuAtLoadStart: new Map() };
  });
}

export const ready = async (r: Replica) => (await fetchRaw(`http://127.0.0.1:${r.port}/readyz`)).status === 200;

export async function startReplica(r: Replica): Promise<void> {
  r.proc.start();
  await waitFor(`replica ${r.name} to be ready`, 30_000, () => ready(r));
}

/** SIGTERM, scraping its metrics every 25 ms until the listener is gone (its last counts), then its exit. */
export async function stopReplica(r: Replica): Promise<number | string> {
  r.proc.signal('SIGTERM');
  const scraping = (async () => {
    while (r.proc.running && (await scrape(r)) !== undefined) await sleep(25);
  })();
  const code = await r.proc.waitExit(40_000);
  await scraping;
  return code;
}

/** nginx: deploy/nginx.conf itself (a symlink), with this run's upstreams and listener; checked with -t first. */
async function startNginx(nginxDir: string, nginxPort: number, replicas: Replica[], base: string): Promise<Proc> {
  fs.symlinkSync(path.join(ROOT, 'deploy/nginx.conf'), path.join(nginxDir, 'nginx.conf'));
  fs.writeFileSync(
    path.join(nginxDir, 'nginx.upstreams.conf'),
    `# written by test/topology/run.ts\nupstream xtc_replicas {\n${replicas.map((r) => `  server 127.0.0.1:${r.port} max_fails=0;\n`).join('')}}\n`,
  );
  fs.writeFileSync(
    path.join(nginxDir, 'nginx.listen.conf'),
    `# written by test/topology/run.ts\nlisten 127.0.0.1:${nginxPort} ssl;\n`,
  );
  const nginxArgs = [
    '-p',
    `${nginxDir}/`,
    '-c',
    path.join(nginxDir, 'nginx.conf'),
    '-e',
    'stderr',
    '-g',
    `daemon off; pid ${path.join(nginxDir, 'nginx.pid')};`,
  ];
  execFileSync('nginx', [...nginxArgs, '-t', '-q'], { stdio: 'inherit' });
  const nginx = new Proc('nginx', 'nginx', nginxArgs, { cwd: nginxDir, env: { PATH: process.env.PATH }, direct: true });
  nginx.start();
  await waitFor('nginx', 10_000, async () => (await fetchRaw(`${base}/healthz`)).status === 200);
  return nginx;
}

/** The whole topology, up: the certificate, Redis, the stand-ins, both replicas ready, then nginx answering. */
export async function bringUp(): Promise<Topology> {
  const ports = await freePorts();
  const base = `https://127.0.0.1:${ports.nginxPort}`;
  const nginxDir = path.join(TMP, 'nginx');
  fs.mkdirSync(nginxDir);
  execFileSync('bash', [path.join(ROOT, 'deploy/gen-cert.sh'), path.join(nginxDir, 'certs')], { stdio: 'inherit' });
  trustCa(fs.readFileSync(path.join(nginxDir, 'certs/tls.crt')));

  const { redis, redisUp } = await startRedis(ports.redisPort);
  const stats = await startStandins(ports, base);
  const xt = `http://127.0.0.1:${ports.xtPort}`;
  const oidc = `http://127.0.0.1:${ports.oidcPort}`;
  const replicas = makeReplicas(ports, base, xt, oidc);
  await Promise.all(replicas.map(startReplica));
  const nginx = await startNginx(nginxDir, ports.nginxPort, replicas, base);
  const { portA, portB, metricsA, metricsB, redisPort, xtPort, oidcPort } = ports;
  say(
    `up: nginx ${base} → replicas :${portA} :${portB} (metrics :${metricsA} :${metricsB}), redis :${redisPort}, stand-ins :${xtPort} :${oidcPort}`,
  );
  return { base, oidc, nginxDir, nginx, redisPort, redis, redisUp, replicas, stats };
}

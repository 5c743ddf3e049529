/**
 * Webhook delivery at volume (issue 25 §5), on SQLite and on Redis (a private redis-server):
 *
 *  (a) drain: BACKLOGS (10,000 and 100,000) `connection.created` events already pending when the
 *      app starts (seeded with their connections through Connections.connect, keeper/seed.ts); the
 *      app (src/server.ts, its own process, production mode, default webhook timing) delivers them
 *      to a receiver in another process that verifies every signature with `standardwebhooks`
 *      (webhooks/receiver.ts). Measured: events per second from the first arrival to the last, and
 *      the app's CPU time. Bounded by DRAIN_LIMIT seconds: a drain cut there says so.
 *  (b) steady: a fresh store with no backlog (RATE × SECONDS connections seeded without events) and
 *      a fresh app; an out-of-process producer (webhooks/producer.ts) deletes them through the
 *      service API at RATE a second for SECONDS (open loop, below the drain rate); each deletion
 *      writes a `connection.ended` event. Measured: store write (the event's `timestamp`) → arrival
 *      at the receiver, p50 / p99 / max, on this machine's clock.
 *
 *   npm run bench:webhook-throughput      (writes bench/results/webhook-throughput.md and .json)
 *   BACKLOGS=1000 RATE=50 SECONDS=5 npm run bench:webhook-throughput      (a quick look)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { tempDir } from '../test/helpers/harness.js';
import { freePort } from '../test/helpers/ports.js';
import { startRedis } from '../test/helpers/redis.js';
import { webhookSecret } from '../test/helpers/webhookReceiver.js';
import { ROOT, TSX, cpuMs, runMain, startProcess } from './lib.js';
import { type Footprint, emptyBaseline, footprint, redisPid } from './keeper/footprint.js';
import { seedConnections } from './keeper/seed.js';
import { writeReport } from './webhooks/report.js';

const BACKLOGS = (process.env.BACKLOGS ?? '10000,100000').split(',').map(Number);
const DRAIN_LIMIT = Number(process.env.DRAIN_LIMIT ?? 150);
const RATE = Number(process.env.RATE ?? 100);
const SECONDS = Number(process.env.SECONDS ?? 20);
const SERVICE_KEY = randomBytes(32).toString('base64url');

interface TypeStats {
  unique: number;
  duplicates: number;
  badSignatures: number;
  firstAt?: number;
  lastAt?: number;
  p50?: number;
  p99?: number;
  max?: number;
}

export type DrainResult = TypeStats & {
  store: string;
  backlog: number;
  cut: boolean;
  perSecond: number;
  appCpuMs: number;
  appCpuSinceReadyMs: number;
  redisCpuMs?: number;
  fromStartMs: number;
  /** Redis with the backlog pending (and its connections). */
  outbox?: Footprint;
};
export type SteadyResult = TypeStats & { store: string; producer: Record<string, unknown>; sent: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stats = async (receiver: string, type: string) =>
  (await (await fetch(`${new URL(receiver).origin}/stats?type=${type}`)).json()) as TypeStats;

/** Polls the receiver until `want` events of `type` arrived or `limitS` passed; the last stats and whether cut. */
async function waitArrivals(receiver: string, type: string, want: number, limitS: number) {
  const until = Date.now() + limitS * 1000;
  for (;;) {
    const s = await stats(receiver, type);
    if (s.unique >= want) return { s, cut: false };
    if (Date.now() > until) return { s, cut: true };
    await sleep(250);
  }
}

/** The app's environment: production mode, webhooks to `receiver`, a service key that may disconnect. */
function appEnv(port: number, store: string, receiver: string, secret: string, redisUrl?: string) {
  return {
    NODE_ENV: 'production',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SESSION_SECRET: 'bench-throughput-session-secret-0123456789abcdef',
    SESSION_STORE: store,
    ...(redisUrl ? { REDIS_URL: redisUrl } : { DATA_DIR: tempDir('xtc-bench-throughput-') }),
    LOG_LEVEL: 'warn',
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: 'bench-throughput-client-secret',
    XT_AUTHORIZE_URL: 'http://127.0.0.1:9/{lang}/accounts/oauth2',
    XT_TOKEN_URL: 'http://127.0.0.1:9/public/uaa/oauth2/token',
    XT_API_URL: 'http://127.0.0.1:9',
    WEBHOOK_URL: receiver,
    WEBHOOK_SECRET: secret,
    SERVICE_API_KEYS: `bench:${SERVICE_KEY}:disconnect`,
    SERVICE_RATE_LIMIT: '100000',
  };
}

/** The SQLite directory of a run, once done (100,000 connections with their events are about a GB). */
const removeData = (env: Record<string, string>) =>
  env.DATA_DIR && fs.rmSync(env.DATA_DIR, { recursive: true, force: true });

/** Starts the app on `env` (ready when /healthz answers); its pid and CPU time so far. */
async function startApp(env: Record<string, string>) {
  const app = await startProcess(process.execPath, ['--import', 'tsx', 'src/server.ts'], env, {
    health: env.PUBLIC_URL!,
  });
  return Object.assign(app, { cpuAtReady: cpuMs(app.pid) });
}

/** (a): `backlog` events pending, then the app started, until every one arrived (or DRAIN_LIMIT). */
async function drain(store: string, backlog: number, receiver: string, secret: string, redisUrl?: string) {
  await fetch(`${new URL(receiver).origin}/reset`, { method: 'POST' });
  const env = appEnv(await freePort(), store, receiver, secret, redisUrl);
  const baseline = redisUrl ? await emptyBaseline(redisUrl) : 0;
  await seedConnections(loadConfig(env), backlog, 0, `${store}-drain`);
  const outbox = redisUrl ? await footprint(redisUrl, backlog, baseline) : undefined;
  const rPid = redisUrl ? await redisPid(redisUrl) : undefined;
  const redisCpu0 = rPid ? cpuMs(rPid) : 0;
  const startedAt = Date.now();
  const app = await startApp(env);
  try {
    const d = await waitArrivals(receiver, 'connection.created', backlog, DRAIN_LIMIT);
    const appCpuMs = cpuMs(app.pid);
    const spanS = ((d.s.lastAt ?? 0) - (d.s.firstAt ?? 0)) / 1000;
    const result: DrainResult = {
      ...d.s,
      store,
      backlog,
      cut: d.cut,
      perSecond: Math.round(d.s.unique / Math.max(spanS, 0.001)),
      appCpuMs,
      appCpuSinceReadyMs: appCpuMs - app.cpuAtReady,
      redisCpuMs: rPid ? cpuMs(rPid) - redisCpu0 : undefined,
      fromStartMs: (d.s.lastAt ?? 0) - startedAt,
      outbox,
    };
    console.log(`bench: ${store}: ${d.s.unique} of ${backlog} drained at ${result.perSecond}/s${d.cut ? ', CUT' : ''}`);
    return result;
  } finally {
    await app.stop();
    removeData(env);
  }
}

/** (b): no backlog; the producer at RATE for SECONDS, then until its events arrived (60 s at most). */
async function steady(store: string, receiver: string, secret: string, redisUrl?: string): Promise<SteadyResult> {
  await fetch(`${new URL(receiver).origin}/reset`, { method: 'POST' });
  const env = appEnv(await freePort(), store, receiver, secret, redisUrl);
  // Seeded without webhooks: the connections, and no event pending.
  const { WEBHOOK_URL: _u, WEBHOOK_SECRET: _s, ...quiet } = env;
  if (redisUrl) await emptyBaseline(redisUrl);
  await seedConnections(loadConfig(quiet), RATE * SECONDS, 0, `${store}-steady`);
  const app = await startApp(env);
  try {
    const { stdout } = await runProducer(app.url);
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    const producer = JSON.parse(line!.slice(7)) as { statuses: Record<string, number> };
    const sent = producer.statuses['204'] ?? 0;
    const s = await waitArrivals(receiver, 'connection.ended', sent, 60);
    console.log(`bench: ${store}: steady ${RATE}/s: ${s.s.unique} events, p50 ${s.s.p50} ms, p99 ${s.s.p99} ms`);
    return { ...s.s, store, producer, sent };
  } finally {
    await app.stop();
    removeData(env);
  }
}

async function runProducer(app: string): Promise<{ stdout: string }> {
  return promisify(execFile)(TSX, ['bench/webhooks/producer.ts', app, String(RATE), String(SECONDS), '0'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SERVICE_KEY },
  });
}

async function both(store: 'sqlite' | 'redis', receiver: string, secret: string, redisUrl?: string) {
  const drains: DrainResult[] = [];
  for (const backlog of BACKLOGS) drains.push(await drain(store, backlog, receiver, secret, redisUrl));
  return { drains, steady: await steady(store, receiver, secret, redisUrl) };
}

async function main(): Promise<void> {
  const secret = webhookSecret();
  const receiver = await startProcess(process.execPath, ['--import', 'tsx', 'bench/webhooks/receiver.ts'], {
    WEBHOOK_SECRET: secret,
  });
  const results = [];
  try {
    results.push(await both('sqlite', receiver.url, secret));
    const redis = await startRedis();
    try {
      results.push(await both('redis', receiver.url, secret, redis.url));
    } finally {
      await redis.stop();
    }
  } finally {
    await receiver.stop();
  }
  writeReport({
    drains: results.flatMap((r) => r.drains),
    steady: results.map((r) => r.steady),
    settings: { BACKLOGS, DRAIN_LIMIT, RATE, SECONDS },
  });
}

runMain(main);

/**
 * Per-request cost and memory of each session store, side by side in one run.
 *
 *   npm run bench            (writes bench/results/stores.md and stores.json)
 *
 * For each store (memory, sqlite, redis — our own redis-server on a free loopback port):
 *  - latency of GET /api/session for a connected person (load session, read + decrypt the
 *    token record), sequential and with 16 in flight, against GET /healthz (no session) as the
 *    baseline measured in the same process;
 *  - memory after storing N connected sessions: the app's heap and RSS growth, and for Redis
 *    the server's own used_memory growth.
 * Traffic goes to 127.0.0.1 only; every loop is bounded.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { type BuiltApp, createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { startXtStandIn } from '../standins/xt.js';
import { authorizeAtStandIn } from '../test/helpers/harness.js';
import { freePort } from '../test/helpers/ports.js';
import { startRedis } from '../test/helpers/redis.js';

const REQUESTS = Number(process.argv[2] ?? 2000);
const SESSIONS = Number(process.argv[3] ?? 5000);
const CONCURRENCY = 16;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function load(url: string, cookie: string | undefined, n: number, concurrency: number) {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < n) {
      next++;
      const t = performance.now();
      const res = await fetch(url, { headers: cookie ? { cookie } : {} });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      times.push(performance.now() - t);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const total = performance.now() - started;
  times.sort((a, b) => a - b);
  return {
    rps: Math.round((n / total) * 1000),
    p50: +percentile(times, 50).toFixed(2),
    p99: +percentile(times, 99).toFixed(2),
  };
}

async function connectOnce(base: string): Promise<string> {
  const login = await fetch(`${base}/auth/xt/login`, { redirect: 'manual' });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const callback = await authorizeAtStandIn(login.headers.get('location')!);
  const cb = await fetch(`${base}${callback}`, { headers: { cookie }, redirect: 'manual' });
  if (cb.status !== 303) throw new Error(`callback answered ${cb.status}`);
  return cb.headers.get('set-cookie')!.split(';')[0]!;
}

/** Stores N connected sessions directly (as many logins would), with realistic token sizes. */
async function fill(built: BuiltApp, n: number) {
  const { stores, connections } = built.ctx;
  const jwt = () =>
    `eyJhbGciOiJSUzI1NiJ9.${randomBytes(120).toString('base64url')}.${randomBytes(128).toString('base64url')}`;
  for (let i = 0; i < n; i++) {
    const owner = randomBytes(18).toString('base64url');
    await new Promise<void>((resolve, reject) =>
      stores.sessions.set(
        randomBytes(24).toString('base64url'),
        {
          cookie: { originalMaxAge: 86_400_000, expires: new Date(Date.now() + 86_400_000) },
          owner,
          csrf: randomBytes(32).toString('base64url'),
        },
        (e?: unknown) => (e ? reject(e instanceof Error ? e : new Error('session store failed')) : resolve()),
      ),
    );
    await connections.connect(owner, 'xt', {
      accessToken: jwt(),
      refreshToken: jwt(),
      accessExpiresAt: Date.now() + 86_400_000,
      refreshExpiresAt: Date.now() + 30 * 86_400_000,
      userId: String(i),
      scope: 'userinfo',
    });
  }
}

const mb = (b: number) => +(b / 1024 / 1024).toFixed(1);

/** The app in this process, with `kind` as its session store (SQLite in a fresh directory), listening on a free port. */
async function startStoreApp(kind: 'memory' | 'sqlite' | 'redis', xtUrl: string, redisUrl?: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-bench-'));
  const port = await freePort();
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    SESSION_STORE: kind,
    REDIS_URL: redisUrl,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: 'demo-secret',
    XT_AUTHORIZE_URL: `${xtUrl}/{lang}/accounts/oauth2`,
    XT_TOKEN_URL: `${xtUrl}/public/uaa/oauth2/token`,
    XT_API_URL: xtUrl,
  });
  const built = await createApp(config);
  const server = built.app.listen(port, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { built, server, dataDir, base: `http://127.0.0.1:${port}` };
}

/** GET /api/session of a connected person against GET /healthz, one at a time and CONCURRENCY in flight, after a warm-up. */
async function measureLatency(base: string, cookie: string) {
  await load(`${base}/api/session`, cookie, 200, 4); // warm-up
  const baselineSeq = await load(`${base}/healthz`, undefined, REQUESTS, 1);
  const sessionSeq = await load(`${base}/api/session`, cookie, REQUESTS, 1);
  const baselineConc = await load(`${base}/healthz`, undefined, REQUESTS, CONCURRENCY);
  const sessionConc = await load(`${base}/api/session`, cookie, REQUESTS, CONCURRENCY);
  return { baselineSeq, sessionSeq, baselineConc, sessionConc };
}

/** Redis's own used_memory, in bytes. */
const redisUsedMemory = async (client: ReturnType<typeof createClient>) =>
  Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);

/**
 * Stores SESSIONS connected sessions: the app's heap growth (after a forced GC), how long it took,
 * and with Redis the server's used_memory growth (Redis is flushed afterwards).
 */
async function measureMemory(built: BuiltApp, redisUrl?: string) {
  let redisBefore = 0;
  const redisClient = redisUrl ? createClient({ url: redisUrl }) : undefined;
  if (redisClient) {
    await redisClient.connect();
    redisBefore = await redisUsedMemory(redisClient);
  }
  global.gc?.();
  const before = process.memoryUsage();
  const t = performance.now();
  await fill(built, SESSIONS);
  const fillMs = performance.now() - t;
  global.gc?.();
  const after = process.memoryUsage();
  let redisGrowth: number | undefined;
  if (redisClient) {
    redisGrowth = (await redisUsedMemory(redisClient)) - redisBefore;
    await redisClient.flushAll();
    await redisClient.close();
  }
  return { heapGrowth: after.heapUsed - before.heapUsed, redisGrowth, fillMs };
}

async function benchStore(kind: 'memory' | 'sqlite' | 'redis', xtUrl: string, redisUrl?: string) {
  const { built, server, dataDir, base } = await startStoreApp(kind, xtUrl, redisUrl);
  const cookie = await connectOnce(base);
  const { baselineSeq, sessionSeq, baselineConc, sessionConc } = await measureLatency(base, cookie);
  const { heapGrowth, redisGrowth, fillMs } = await measureMemory(built, redisUrl);
  const sqliteBytes =
    kind === 'sqlite'
      ? fs.readdirSync(dataDir).reduce((s, f) => s + fs.statSync(path.join(dataDir, f)).size, 0)
      : undefined;

  server.close();
  await built.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return {
    store: kind,
    sequential: {
      baseline: baselineSeq,
      session: sessionSeq,
      addedMsP50: +(sessionSeq.p50 - baselineSeq.p50).toFixed(2),
    },
    concurrent: { baseline: baselineConc, session: sessionConc },
    memory: {
      sessions: SESSIONS,
      heapGrowthMb: mb(heapGrowth),
      redisServerGrowthMb: redisGrowth === undefined ? undefined : mb(redisGrowth),
      sqliteFileMb: sqliteBytes === undefined ? undefined : mb(sqliteBytes),
      storeWritesPerSec: Math.round((SESSIONS * 2) / (fillMs / 1000)),
    },
  };
}

async function main() {
  const xt = await startXtStandIn({ clientSecret: 'demo-secret' });
  const redis = await startRedis();
  const results = [];
  try {
    for (const kind of ['memory', 'sqlite', 'redis'] as const) {
      process.stdout.write(`bench: ${kind}…\n`);
      results.push(await benchStore(kind, xt.url, kind === 'redis' ? redis.url : undefined));
    }
  } finally {
    await redis.stop();
    await xt.close();
  }
  const dir = path.resolve('bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    sessions: SESSIONS,
  };
  fs.writeFileSync(path.join(dir, 'stores.json'), JSON.stringify({ meta, results }, null, 2));
  const rows = results.map(
    (r) =>
      `| ${r.store} | ${r.sequential.baseline.p50} / ${r.sequential.session.p50} | ${r.sequential.addedMsP50} | ${r.sequential.session.p99} | ${r.concurrent.baseline.rps} / ${r.concurrent.session.rps} | ${r.concurrent.session.p99} | ${r.memory.heapGrowthMb} | ${r.memory.sqliteFileMb ?? r.memory.redisServerGrowthMb ?? '—'} | ${r.memory.storeWritesPerSec} |`,
  );
  const md = `# Session store benchmark

${meta.date} · Node ${meta.node} · ${meta.cpus} × ${meta.cpu} · ${REQUESTS} requests per measurement · ${SESSIONS} sessions for memory

Latency is for \`GET /api/session\` of a connected person (load the session, read and decrypt the
token record) against \`GET /healthz\` (no session) as the baseline, in the same process and run.
Memory is the growth after storing ${SESSIONS} connected sessions (session + encrypted token record each):
the app's own heap (after a forced GC), the SQLite files, or Redis's used_memory.
Client and server share one process, so p99 includes the load generator's own pauses.

| store | p50 ms, baseline / session | added p50 ms | session p99 ms | req/s at ${CONCURRENCY} in flight, baseline / session | session p99 ms at ${CONCURRENCY} | app heap growth MB | on disk / in Redis MB | store writes/s |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
  fs.writeFileSync(path.join(dir, 'stores.md'), md);
  process.stdout.write(`\n${md}\n`);
}

void main();

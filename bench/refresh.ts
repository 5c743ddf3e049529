/**
 * Refresh coordination under load: N concurrent requests of one session arrive just after its
 * access token expired. How many refresh calls reach the provider, and how long do the requests
 * take? Measured for one process (SQLite) and for two replicas sharing Redis, with a token
 * endpoint that takes 200 ms. The baseline is what a client without coordination would send:
 * one refresh call per request (N).
 *
 *   npm run bench:refresh     (writes bench/results/refresh.md)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { startXtStandIn } from '../standins/xt.js';
import { testClock } from '../test/helpers/clock.js';
import { authorizeAtStandIn, sidCookie } from '../test/helpers/harness.js';
import { startRedis } from '../test/helpers/redis.js';

const SIZES = [20, 100, 500];

async function run(n: number, replicas: 1 | 2, redisUrl?: string) {
  const clock = testClock();
  const now = clock.now;
  const xt = await startXtStandIn({ clientSecret: 'bench-secret', accessTtlSec: 600, tokenDelayMs: 200, now });
  const env = {
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    SESSION_STORE: redisUrl ? 'redis' : 'sqlite',
    REDIS_URL: redisUrl,
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-bench-')),
    LOG_LEVEL: 'silent',
    AUTH_RATE_LIMIT: '100000',
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: 'bench-secret',
    XT_AUTHORIZE_URL: `${xt.url}/{lang}/accounts/oauth2`,
    XT_TOKEN_URL: `${xt.url}/public/uaa/oauth2/token`,
    XT_API_URL: xt.url,
  };
  const apps: Awaited<ReturnType<typeof createApp>>[] = [];
  for (let i = 0; i < replicas; i++) apps.push(await createApp(loadConfig(env), { now }));
  const agent = request.agent(apps[0]!.app);
  const login = await agent.get('/auth/xt/login');
  const cb = await agent.get(await authorizeAtStandIn(login.headers.location!));
  const cookie = sidCookie(cb);

  clock.advance(601_000); // the access token has just expired
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      request(apps[i % replicas]!.app)
        .get('/api/session')
        .set('Cookie', cookie),
    ),
  );
  const ms = performance.now() - started;
  const ok = results.filter((r) => r.status === 200 && (r.body as { connected?: boolean }).connected === true).length;
  const out = {
    n,
    replicas,
    store: env.SESSION_STORE,
    refreshCalls: xt.calls.refresh_token,
    baselineCalls: n,
    ok,
    totalMs: Math.round(ms),
  };
  for (const a of apps) await a.close();
  await xt.close();
  if (redisUrl) {
    const { createClient } = await import('redis');
    const c = createClient({ url: redisUrl });
    await c.connect();
    await c.flushAll();
    await c.close();
  }
  return out;
}

async function main() {
  const redis = await startRedis();
  const rows = [];
  try {
    for (const n of SIZES) {
      rows.push(await run(n, 1));
      rows.push(await run(n, 2, redis.url));
    }
  } finally {
    await redis.stop();
  }
  const md = `# Refresh coordination benchmark

${new Date().toISOString()} · Node ${process.version} · token endpoint answers in 200 ms

N concurrent requests of one session right after its access token expired. "Without coordination"
is what a client that refreshes per request would send (one call each).

| requests | replicas (store) | refresh calls | without coordination | requests answered connected | wall time ms |
| --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r.n} | ${r.replicas} (${r.store}) | ${r.refreshCalls} | ${r.baselineCalls} | ${r.ok}/${r.n} | ${r.totalMs} |`).join('\n')}
`;
  fs.mkdirSync('bench/results', { recursive: true });
  fs.writeFileSync('bench/results/refresh.md', md);
  process.stdout.write(md);
}

void main();

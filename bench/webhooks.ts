/**
 * How long a connection event takes to reach the institution's endpoint. The real server runs as
 * a child process (production mode, default webhook timing: the worker is kicked by each new
 * event and otherwise polls every second); the XT.COM stand-in and a receiver that verifies every
 * signature run here. EVENTS people log in one after another, each waiting for its event, so the
 * figure is the unloaded latency:
 *  - from the store write (the event's `timestamp`, taken when the outbox row is built) to the
 *    receiver having the whole request;
 *  - from the login's callback answer (as this process sees it) to the same moment. The event is
 *    written before the callback answers, so this can be negative.
 * Measured with SQLite and, when `redis-server` is on the PATH, with Redis.
 *
 *   npm run bench:webhooks        (writes bench/results/webhooks.md)
 *   EVENTS=20 npm run bench:webhooks
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startXtStandIn } from '../standins/xt.js';
import { appChild } from '../test/helpers/child.js';
import { tempDir } from '../test/helpers/harness.js';
import { freePort } from '../test/helpers/ports.js';
import { type RedisServer, startRedis } from '../test/helpers/redis.js';
import { type WebhookReceiver, startReceiver } from '../test/helpers/webhookReceiver.js';

const EVENTS = Number(process.env.EVENTS ?? 100);
const WARMUP = 5;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const CLIENT_SECRET = 'bench-webhooks-client-secret-0123456789';

interface Sample {
  fromWriteMs: number;
  fromAnswerMs: number;
}

/** Login → the stand-in's Authorize (as person `user`) → callback; returns when the callback answered (Date.now()). */
async function login(app: string, user: number): Promise<number> {
  const start = await fetch(`${app}/auth/xt/login`, { redirect: 'manual' });
  const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
  const authorize = new URL(start.headers.get('location')!);
  const form = new URLSearchParams({ decision: 'approve', as_user: String(40_000_000 + user) });
  for (const k of ['client_id', 'redirect_uri', 'scope', 'state']) form.set(k, authorize.searchParams.get(k) ?? '');
  const back = await fetch(new URL(`${authorize.pathname}/decision`, authorize), {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  if (back.status !== 302) throw new Error(`the stand-in's decision answered ${back.status}: ${await back.text()}`);
  const callback = await fetch(back.headers.get('location')!, { headers: { cookie }, redirect: 'manual' });
  const answeredAt = Date.now();
  if (callback.status !== 303) throw new Error(`callback answered ${callback.status}`);
  await callback.arrayBuffer();
  return answeredAt;
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('the event did not arrive in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** EVENTS + WARMUP logins against a fresh app on `store`; the samples after the warm-up. */
async function run(store: 'sqlite' | 'redis', receiver: WebhookReceiver, redis?: RedisServer): Promise<Sample[]> {
  const xt = await startXtStandIn({ clientSecret: CLIENT_SECRET });
  const child = appChild(await freePort(), {
    NODE_ENV: 'production',
    SESSION_SECRET: 'bench-webhooks-session-secret-0123456789abcdef',
    SESSION_STORE: store,
    ...(store === 'sqlite' ? { DATA_DIR: tempDir('xtc-bench-hooks-') } : { REDIS_URL: redis!.url }),
    LOG_LEVEL: 'info', // the child's "listening" line is how appChild knows it is up
    AUTH_RATE_LIMIT: '100000',
    SHUTDOWN_DRAIN: '0s', // the bench stops it with SIGTERM: no load balancer to wait for
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: CLIENT_SECRET,
    XT_AUTHORIZE_URL: `${xt.url}/{lang}/accounts/oauth2`,
    XT_TOKEN_URL: `${xt.url}/public/uaa/oauth2/token`,
    XT_API_URL: xt.url,
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: receiver.secret,
  });
  await child.start();
  const samples: Sample[] = [];
  try {
    for (let i = 0; i < EVENTS + WARMUP; i++) {
      const before = receiver.accepted.length;
      const answeredAt = await login(child.url, i);
      await waitFor(() => receiver.accepted.length > before, 10_000);
      const a = receiver.accepted[before]!;
      if (i >= WARMUP)
        samples.push({ fromWriteMs: a.at - Date.parse(a.body.timestamp), fromAnswerMs: a.at - answeredAt });
    }
  } finally {
    await child.kill('SIGTERM');
    await xt.close();
  }
  return samples;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

function hasRedis(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const results: { store: string; samples: Sample[] }[] = [];
  results.push({ store: 'sqlite', samples: await run('sqlite', receiver) });
  if (hasRedis()) {
    const redis = await startRedis();
    try {
      results.push({ store: 'redis', samples: await run('redis', receiver, redis) });
    } finally {
      await redis.stop();
    }
  }
  await receiver.close();
  const duplicates = [...receiver.acceptedCount.values()].filter((n) => n > 1).length;
  const failures = receiver.badSignatures + receiver.arrivals.length - receiver.accepted.length;

  const rows = results.flatMap(({ store, samples }) => {
    const w = samples.map((s) => s.fromWriteMs);
    const a = samples.map((s) => s.fromAnswerMs);
    const line = (label: string, xs: number[]) =>
      `| ${store} | ${label} | ${pct(xs, 50)} ms | ${pct(xs, 95)} ms | ${Math.max(...xs)} ms |`;
    console.log(
      `bench: ${store}: store write → arrival p50 ${pct(w, 50)} ms, p95 ${pct(w, 95)} ms; callback answer → arrival p50 ${pct(a, 50)} ms, p95 ${pct(a, 95)} ms`,
    );
    return [line('store write → arrival', w), line('callback answer → arrival', a)];
  });
  const machine = `${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model}`;
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'webhooks.md'),
    `# Webhook delivery latency

${machine}. ${EVENTS} \`connection.created\` events per store (after ${WARMUP} not counted), one login at a time, each waiting for its event; the app (production mode, default webhook timing) in its own process, the XT.COM stand-in and a receiver that verifies every signature with \`standardwebhooks\` in the bench's process, all on loopback.

| store | from | p50 | p95 | max |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

"store write" is the event's own \`timestamp\` (taken when the outbox row is built, in the same step as the connection it reports), "arrival" the moment the receiver has the whole request; both on this machine's clock, to the millisecond. The event is in the store before the callback answers, and the worker is woken at once, so "callback answer → arrival" can be negative. Every event was answered 2xx on its first try; signatures refused: ${receiver.badSignatures}; duplicates: ${duplicates}; failed attempts: ${failures}. Reproduce with \`npm run bench:webhooks\`.
`,
  );
  console.log('bench: wrote bench/results/webhooks.md');
  process.exit(duplicates + failures > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

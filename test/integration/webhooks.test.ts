/**
 * Webhooks, end to end over real HTTP: the app's worker POSTs connection events to a receiver
 * (test/helpers/webhookReceiver.ts) that checks every signature with the Standard Webhooks
 * library's verifier and counts what it accepted per webhook-id.
 *
 * Memory store for the behaviour (format, retries, 410, max age, /readyz), then the promises
 * that need a real store: a SIGKILL between the store write and the delivery (SQLite, the real
 * server as a child process), and two replicas sharing one Redis.
 */
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import type { Env } from '../../src/config/index.js';
import { type WebhookStats, disabledMark } from '../../src/webhooks/delivery.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { type AppChild, appChild } from '../helpers/child.js';
import {
  type Harness,
  SESSION_SECRET,
  TEST_SECRET,
  assertNoSecrets,
  authorizeAtStandIn,
  connectXt,
  detailedReadyz,
  disconnectXt,
  scanLogs,
  startHarness,
  tempDir,
  xtEnv,
} from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { freePort } from '../helpers/ports.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { roundTripAcross } from '../helpers/replicas.js';
import { type WebhookReceiver, startReceiver, webhookSecret } from '../helpers/webhookReceiver.js';

/** A token in the endpoint's query, as institutions often put one there: it must never be logged. */
const QUERY_TOKEN = 'receiver-query-token-5f1e9c';
/** Retries and polls scaled down, so a test runs the real logic in milliseconds. */
const FAST = { firstRetryMs: 50, pollMs: 50 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const hookEnv = (r: { url: string; secret: string }, extra: Env = {}): Env => ({
  WEBHOOK_URL: `${r.url}?token=${QUERY_TOKEN}`,
  WEBHOOK_SECRET: r.secret,
  ...extra,
});

/** Disconnects the agent's XT.COM connection with the logout form of /account. */
async function logout(agent: TestAgent): Promise<void> {
  expect((await disconnectXt(agent)).status).toBe(303);
}

interface ReadyJson {
  status: string;
  store: string;
  webhooks?: WebhookStats;
}

/** GET /readyz on the metrics listener of the harness's app (the public one says ready or not_ready only). */
const readyz = async (h: Harness): Promise<ReadyJson> => (await detailedReadyz(h.built)).body as ReadyJson;

/** Log records of the harness at `level` (pino numbers: 40 warn, 50 error) whose msg matches. */
const logLines = (h: Harness, level: number, msg: RegExp) =>
  h.logs.records().filter((l) => l.level === level && msg.test(String(l.msg)));

describe('webhooks (memory store)', () => {
  let h: Harness | undefined;
  let receiver: WebhookReceiver | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
    await receiver?.close();
    receiver = undefined;
  });

  test('a login sends connection.created and a disconnect connection.ended, signed, without a token', async () => {
    receiver = await startReceiver();
    h = await startHarness({ env: hookEnv(receiver), app: { webhookTiming: FAST } });
    expect((await connectXt(h.agent)).status).toBe(303);
    await receiver.waitFor(() => receiver!.accepted.length === 1, 5000, 'connection.created');

    const created = receiver.accepted[0]!;
    expect(created.verified).toBe(true);
    expect(created.id).toMatch(/^msg_[\w-]{16,}$/);
    expect(created.headers['content-type']).toBe('application/json');
    expect(created.headers['user-agent']).toBe('xt-connect-webhooks');
    expect(Math.abs(Number(created.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(10);
    expect(Object.keys(created.body)).toEqual(['type', 'timestamp', 'data']);
    expect(created.body.type).toBe('connection.created');
    expect(created.body.data).toEqual({
      subject: null,
      provider: 'xt',
      userId: '12345678',
      scope: 'userinfo',
      reason: null,
    });
    expect(new Date(created.body.timestamp).toISOString()).toBe(created.body.timestamp);
    assertNoSecrets(created.raw, h.xt.issued());

    await logout(h.agent);
    await receiver.waitFor(() => receiver!.accepted.length === 2, 5000, 'connection.ended');
    const ended = receiver.accepted[1]!;
    expect(ended.verified).toBe(true);
    expect(Object.keys(ended.body)).toEqual(['type', 'timestamp', 'data']);
    expect(ended.body.type).toBe('connection.ended');
    expect(ended.body.data).toEqual({
      subject: null,
      provider: 'xt',
      userId: '12345678',
      scope: 'userinfo',
      reason: 'disconnected',
    });
    assertNoSecrets(ended.raw, h.xt.issued());
    expect(receiver.badSignatures).toBe(0);
    expect(receiver.arrivals).toHaveLength(2);

    expect(await readyz(h)).toEqual({
      status: 'ready',
      store: 'memory',
      webhooks: { pending: 0, oldestAgeSeconds: 0, disabled: false },
    });
    // The public port says ready, and nothing of the backlog.
    expect((await request(h.built.app).get('/readyz')).body).toEqual({ status: 'ready' });
    expect(h.logs.text()).not.toContain(QUERY_TOKEN);
  });

  test('a receiver that fails 3 times, then accepts, gets each of 3 events exactly once after its 2xx, in order', async () => {
    receiver = await startReceiver();
    receiver.answer = (_a, n) => (n <= 3 ? 500 : 204);
    // One subject (a linked login): its events are one ordered group. (A session-bound login gets a
    // new private owner each time, and with it a new group.)
    const subject = 'person-7';
    h = await startHarness({ env: { ...hookEnv(receiver), ...linkEnv() }, app: { webhookTiming: FAST } });
    expect((await connectXt(h.agent, { link: await linkToken(subject) })).status).toBe(303); // 1: created
    await logout(h.agent); // 2: ended
    expect((await connectXt(request.agent(h.built.app), { link: await linkToken(subject) })).status).toBe(303); // 3: created again, another browser
    await receiver.waitFor(() => receiver!.accepted.length === 3, 10_000, 'three accepted events');
    await sleep(200); // nothing more arrives

    expect(receiver.accepted.map((a) => a.body.type)).toEqual([
      'connection.created',
      'connection.ended',
      'connection.created',
    ]);
    expect(receiver.accepted.map((a) => a.body.data.subject)).toEqual([subject, subject, subject]);
    expect([...receiver.acceptedCount.values()]).toEqual([1, 1, 1]);
    // The first event took 4 tries (3 × 500, then 204); the other two one each, after it.
    expect(receiver.arrivals.map((a) => a.try)).toEqual([1, 2, 3, 4, 1, 1]);
    expect(new Set(receiver.arrivals.slice(0, 4).map((a) => a.id)).size).toBe(1);

    // Each failure logged at warn, with the attempt, the status and the delay: never the URL or the body.
    const warns = logLines(h, 40, /webhook delivery failed/);
    expect(warns.map((w) => [w.eventId, w.attempt, w.status])).toEqual(
      [1, 2, 3].map((n) => [receiver!.arrivals[0]!.id, n, 500]),
    );
    for (const [i, w] of warns.entries()) {
      const base = 50 * 2 ** i;
      expect(w.retryInMs).toBeGreaterThanOrEqual(base * 0.8 - 1);
      expect(w.retryInMs).toBeLessThanOrEqual(base * 1.2 + 1);
    }
    expect(h.logs.text()).not.toContain(QUERY_TOKEN);
    expect(h.logs.text()).not.toContain(receiver.arrivals[0]!.raw);
  });

  test('a login that replaces a connection reports the end of the old one, and refresh_rejected and revoked_by_service are reported', async () => {
    receiver = await startReceiver();
    h = await startHarness({
      env: { ...hookEnv(receiver), ...linkEnv(), SERVICE_API_KEYS: `ops:${'k'.repeat(40)}` },
      app: { webhookTiming: FAST },
    });
    const summary = () =>
      receiver!.accepted.map((a) => `${a.body.type}:${a.body.data.userId}:${a.body.data.reason ?? ''}`);
    // The same browser logs in twice: the first connection ended when the second replaced it.
    expect((await connectXt(h.agent, { asUser: '901' })).status).toBe(303);
    expect((await connectXt(h.agent, { asUser: '902' })).status).toBe(303);
    await receiver.waitFor(() => receiver!.accepted.length === 3, 5000, 'three events');
    expect(summary()).toEqual([
      'connection.created:901:',
      'connection.ended:901:disconnected',
      'connection.created:902:',
    ]);
    // Two browsers log one subject in at the same time (both at XT.COM before either comes back): the same.
    const other = request.agent(h.built.app);
    const third = request.agent(h.built.app);
    const loginA = await other.get(`/auth/xt/login?link=${await linkToken('s-1')}`);
    const loginB = await third.get(`/auth/xt/login?link=${await linkToken('s-1')}`);
    expect((await other.get(await authorizeAtStandIn(loginA.headers.location!, 'approve', '903'))).status).toBe(303);
    expect((await third.get(await authorizeAtStandIn(loginB.headers.location!, 'approve', '904'))).status).toBe(303);
    await receiver.waitFor(() => receiver!.accepted.length === 6, 5000, 'six events');
    expect(summary().slice(3)).toEqual([
      'connection.created:903:',
      'connection.ended:903:disconnected',
      'connection.created:904:',
    ]);
    expect(receiver.accepted[5]!.body.data.subject).toBe('s-1');
    // XT.COM refuses the refresh: refresh_rejected.
    h.xt.revokeRefreshTokens();
    h.xt.revokeAccessTokens();
    expect((await other.get('/api/xt/spot/v4/balances')).status).toBe(401);
    await receiver.waitFor(() => receiver!.accepted.length === 7, 5000, 'refresh_rejected');
    expect(summary()[6]).toBe('connection.ended:904:refresh_rejected');
    // The institution's backend disconnects: revoked_by_service.
    expect((await connectXt(other, { link: await linkToken('s-1'), asUser: '905' })).status).toBe(303);
    const del = await request(h.built.app)
      .delete('/v1/subjects/s-1/connections/xt')
      .set('Authorization', `Bearer ${'k'.repeat(40)}`);
    expect(del.status).toBe(204);
    await receiver.waitFor(() => receiver!.accepted.length === 9, 5000, 'revoked_by_service');
    expect(summary().slice(7)).toEqual(['connection.created:905:', 'connection.ended:905:revoked_by_service']);
    expect(receiver.badSignatures).toBe(0);
  });

  test('a 410 disables delivery: an error line, nothing more is sent, the events stay in the outbox', async () => {
    receiver = await startReceiver();
    receiver.answer = () => 410;
    h = await startHarness({ env: hookEnv(receiver), app: { webhookTiming: FAST } });
    expect((await connectXt(h.agent)).status).toBe(303);
    await receiver.waitFor(() => receiver!.arrivals.length === 1, 5000, 'the first delivery');
    await logout(h.agent);
    expect((await connectXt(h.agent)).status).toBe(303);
    await sleep(500); // ten poll intervals, and several retry delays

    expect(receiver.arrivals).toHaveLength(1);
    const errors = logLines(h, 50, /410 Gone/);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ eventId: receiver.arrivals[0]!.id, status: 410 });
    // The mark every replica (and the next start) reads.
    expect(await h.built.ctx.stores.authState.hasMark(disabledMark(h.config.integration.webhooks!.url))).toBe(true);
    expect((await readyz(h)).webhooks).toMatchObject({ pending: 3, disabled: true });
  });

  test('an event older than WEBHOOK_MAX_AGE is dropped with an error line (id, type, age; never the subject)', async () => {
    receiver = await startReceiver();
    const subject = 'person-42@institution.example';
    // The worker's clock runs 4 days ahead: every event is past the 3-day default at its first attempt.
    h = await startHarness({
      env: { ...hookEnv(receiver), ...linkEnv() },
      app: { webhookTiming: { ...FAST, now: () => Date.now() + 4 * 86_400_000 } },
    });
    expect((await connectXt(h.agent, { link: await linkToken(subject) })).status).toBe(303);
    await waitUntil(() => logLines(h!, 50, /WEBHOOK_MAX_AGE/).length === 1, 5000);

    const [line] = logLines(h, 50, /WEBHOOK_MAX_AGE/);
    expect(line!.eventId).toMatch(/^msg_/);
    expect(line!.type).toBe('connection.created');
    expect(line!.ageSeconds).toBeGreaterThanOrEqual(4 * 86_400 - 5);
    expect(h.logs.text()).not.toContain(subject);
    await sleep(200);
    expect(receiver.arrivals).toHaveLength(0);
    expect((await h.built.ctx.stores.outbox.stats()).pending).toBe(0);
  });

  test('/readyz reports what waits while the receiver is down; it is delivered once the receiver is back', async () => {
    const port = await freePort(); // nothing listens here yet
    const secret = webhookSecret();
    h = await startHarness({
      env: hookEnv({ url: `http://127.0.0.1:${port}/hooks`, secret }),
      app: { webhookTiming: { ...FAST, firstRetryMs: 100 } },
    });
    expect((await connectXt(h.agent)).status).toBe(303);
    await waitUntil(() => logLines(h!, 40, /webhook delivery failed/).length >= 1, 5000);
    const down = await readyz(h);
    expect(down.status).toBe('ready');
    expect(down.webhooks?.pending).toBe(1);
    expect(down.webhooks?.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(logLines(h, 40, /webhook delivery failed/)[0]).toMatchObject({ attempt: 1, code: 'ECONNREFUSED' });

    receiver = await startReceiver({ secret, port });
    await receiver.waitFor(() => receiver!.accepted.length === 1, 10_000, 'the delivery after the outage');
    expect(receiver.accepted[0]!.body.type).toBe('connection.created');
    expect((await readyz(h)).webhooks).toEqual({ pending: 0, oldestAgeSeconds: 0, disabled: false });
  });
});

async function waitUntil(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await sleep(10);
  }
}

describe('webhooks survive a SIGKILL between the store write and the delivery (SQLite)', () => {
  let xt: XtStandIn | undefined;
  let child: AppChild | undefined;
  let receiver: WebhookReceiver | undefined;

  afterEach(async () => {
    await child?.kill();
    await xt?.close();
    await receiver?.close();
  });

  test('the event held by the killed process is delivered after the restart', async () => {
    xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    receiver = await startReceiver();
    receiver.answer = (a) => (a.try === 1 ? 'hold' : 204); // the first delivery never gets an answer
    const metricsPort = await freePort();
    const env = xtEnv(xt, {
      ...hookEnv(receiver),
      SESSION_STORE: 'sqlite',
      DATA_DIR: tempDir('xtc-hooks-'),
      LOG_LEVEL: 'info',
      METRICS_PORT: String(metricsPort),
    });
    child = appChild(await freePort(), env);
    await child.start();

    expect((await connectXt(request.agent(child.url))).status).toBe(303);
    await receiver.waitFor(() => receiver!.arrivals.length === 1, 10_000, 'the first delivery');
    const held = receiver.arrivals[0]!;
    await child.kill('SIGKILL');
    const killedAt = Date.now();

    const restart = performance.now();
    await child.start();
    const startMs = performance.now() - restart;
    await receiver.waitFor(() => receiver!.accepted.length === 1, 20_000, 'the delivery after the restart');
    const again = receiver.accepted[0]!;
    expect(again.id).toBe(held.id);
    expect(again.verified).toBe(true);
    expect(again.body.type).toBe('connection.created');
    expect(receiver.acceptedCount.get(held.id)).toBe(1);
    console.log(
      `webhooks SIGKILL (sqlite): redelivered ${again.at - killedAt} ms after the kill (the restart took ${Math.round(startMs)} ms; ${Math.round(
        again.at - killedAt - startMs,
      )} ms after it listened)`,
    );
    // The restarted process took the dead one's lease over at once, not after its 15 s.
    expect(again.at - killedAt).toBeLessThan(startMs + 5000);
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (r) => r.json() as Promise<{ webhooks: unknown }>,
    );
    expect(ready.webhooks).toEqual({ pending: 0, oldestAgeSeconds: 0, disabled: false });
    scanLogs(child.output(), [
      TEST_SECRET,
      SESSION_SECRET,
      receiver.secret,
      receiver.secret.slice(6),
      QUERY_TOKEN,
      ...xt.issued(),
    ]);
  }, 60_000);
});

describe('webhooks on Redis', () => {
  let redis: RedisServer;
  const harnesses: Harness[] = [];
  let receiver: WebhookReceiver | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close();
    await receiver?.close();
    receiver = undefined;
  });
  afterAll(async () => {
    await redis.stop();
  });

  test('two replicas: 20 events made through both are each delivered once, in order per person', async () => {
    receiver = await startReceiver();
    // A little latency at the receiver, so both workers have claims in flight at once.
    receiver.answer = () => sleep(Math.random() * 20).then(() => 204);
    const env = { ...hookEnv(receiver), SESSION_STORE: 'redis', REDIS_URL: redis.url };
    const a = await startHarness({ env, app: { webhookTiming: FAST } });
    harnesses.push(a);
    const b = await startHarness({ env, app: { webhookTiming: FAST }, standIn: a.xt });
    harnesses.push(b);

    // 10 people at once: each logs in on one replica and disconnects through the other.
    await roundTripAcross(
      receiver,
      Array.from({ length: 10 }, (_, i) => String(30_000_000 + i)),
      [a, b],
    );
    expect(receiver.arrivals).toHaveLength(20);
    // Each delivery was made by exactly one replica (debug lines), and both took part.
    const delivered = [a, b].map((h) => logLines(h, 20, /^webhook delivered$/).length);
    expect(delivered[0]! + delivered[1]!).toBe(20);
    console.log(`webhooks, two replicas on Redis: deliveries per replica ${JSON.stringify(delivered)}`);
    for (const h of [a, b])
      expect((await readyz(h)).webhooks).toEqual({ pending: 0, oldestAgeSeconds: 0, disabled: false });
  }, 60_000);

  test('a Redis outage: the worker logs it (rate-limited), keeps going, and the waiting event is delivered once Redis is back', async () => {
    receiver = await startReceiver();
    let down = true;
    receiver.answer = () => (down ? 503 : 204);
    const h = await startHarness({
      env: { ...hookEnv(receiver), SESSION_STORE: 'redis', REDIS_URL: redis.url },
      app: { webhookTiming: FAST },
    });
    harnesses.push(h);
    expect((await connectXt(h.agent)).status).toBe(303);
    await receiver.waitFor(() => receiver!.arrivals.length >= 1, 5000, 'a first (refused) delivery');

    // A Redis that does not answer at all: /readyz still answers (503) within its deadline.
    redis.pause();
    const asked = Date.now();
    expect((await readyz(h)).status).toBe('unavailable');
    expect(Date.now() - asked).toBeLessThan(1500);
    redis.resume();

    await redis.stop(); // saved on shutdown, loaded at start: the outbox survives, as with a persistent Redis
    await sleep(1500);
    expect((await readyz(h)).status).toBe('unavailable');
    await redis.start();
    down = false;
    await receiver.waitFor(() => receiver!.accepted.length === 1, 15_000, 'the delivery after the outage');
    await sleep(200);
    expect(receiver.accepted[0]!.body.type).toBe('connection.created');
    expect(receiver.acceptedCount.get(receiver.accepted[0]!.id)).toBe(1);
    // Tried every 50 ms while Redis was away, logged once.
    expect(logLines(h, 40, /webhook delivery: the store did not answer/)).toHaveLength(1);
    expect((await readyz(h)).webhooks).toEqual({ pending: 0, oldestAgeSeconds: 0, disabled: false });
  }, 60_000);
});

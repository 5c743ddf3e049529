/**
 * Webhooks, end to end over real HTTP: the app's worker POSTs connection events to a receiver
 * (test/helpers/webhookReceiver.ts) that checks every signature with the Standard Webhooks
 * library's verifier and counts what it accepted per webhook-id.
 *
 * The behaviour, on the memory store: format, retries, 410, max age, /readyz. The promises that
 * need a real store: webhooks-sigkill.test.ts (SQLite) and webhooks-redis.test.ts.
 */
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { disabledMark } from '../../src/webhooks/delivery.js';
import {
  type Harness,
  assertNoSecrets,
  authorizeAtStandIn,
  connectXt,
  disconnectXt,
  startHarness,
} from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { freePort } from '../helpers/ports.js';
import { FAST, QUERY_TOKEN, hookEnv, logLines, readyz } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver, webhookSecret } from '../helpers/webhookReceiver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Disconnects the agent's XT.COM connection with the logout form of /account. */
async function logout(agent: TestAgent): Promise<void> {
  expect((await disconnectXt(agent)).status).toBe(303);
}

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
      connectionId: expect.stringMatching(/^conn_[A-Za-z0-9_-]{22}$/) as string,
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
      connectionId: created.body.data.connectionId, // the same connection
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

  test('an event older than WEBHOOK_MAX_AGE moves, sealed, to the dead letters, with an error line (id, type, age; never the subject) and a count', async () => {
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
    const dead = await h.built.ctx.stores.outbox.deadLetters(10);
    expect(dead.map((d) => d.id)).toEqual([line!.eventId]);
    expect(dead[0]!.value).not.toContain(subject); // still sealed
    expect(await h.built.ctx.metrics.registry.getSingleMetricAsString('xtc_webhook_dead_letters_total')).toMatch(
      /^xtc_webhook_dead_letters_total 1$/m,
    );
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

/**
 * POST /v1/webhooks/replay (scope `webhooks.replay`) against the real worker, SQLite, and a receiver
 * that verifies every signature with the `standardwebhooks` library: a delivered event and a dead
 * letter come back with their own webhook-id and payload, once; what the body may hold; the scope.
 * The store side (Redis, the Cluster, two replicas replaying at once) is in store-contract/replay.ts.
 * The contract guard checks every /v1 answer and every webhook against api/openapi.yaml.
 */
import request from 'supertest';
import { tempDir } from '../helpers/harness.js';
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { FAST, hookEnv } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const REPLAY_KEY = 'webhook-replay-key-0123456789abcdef012345';
const LOG_KEY = 'webhook-log-only-key-0123456789abcdef0123';
const KEYS = `replayer:${REPLAY_KEY}:webhooks.replay+webhooks,logs:${LOG_KEY}:webhooks`;
const DAY = 86_400_000;

let h: Harness;
let receiver: WebhookReceiver;
/** How far ahead of real time the worker's clock runs: 4 days makes every event too old (dead). */
let ahead = 0;
const SUBJECT = 'replay-person-7';

beforeAll(async () => {
  receiver = await startReceiver();
  h = await startHarness({
    env: linkEnv({ ...hookEnv(receiver), SERVICE_API_KEYS: KEYS, SESSION_STORE: 'sqlite', DATA_DIR: tempDir() }),
    app: { webhookTiming: { ...FAST, now: () => Date.now() + ahead } },
  });
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

const replay = (body: unknown, key = REPLAY_KEY) =>
  request(h.built.app)
    .post('/v1/webhooks/replay')
    .set('Authorization', `Bearer ${key}`)
    .send(body as object);
const iso = (ms: number) => new Date(ms).toISOString();

test('a delivered event comes back with its own webhook-id, payload and a valid signature; a second replay finds nothing', async () => {
  const since = iso(Date.now() - 1000);
  expect((await connectXt(h.agent, { link: await linkToken(SUBJECT) })).status).toBe(303);
  await receiver.waitFor(() => receiver.accepted.length === 1, 10_000, 'the first delivery');
  const first = receiver.accepted[0]!;
  await new Promise((r) => setTimeout(r, 100)); // the outcome is stored right after the answer

  const res = await replay({ since }).expect(202);
  expect(res.body).toEqual({ replayed: 1, eventIds: [first.id], more: false });
  expect(JSON.stringify(res.body)).not.toContain(SUBJECT);
  await receiver.waitFor(() => receiver.accepted.length === 2, 10_000, 'the replayed delivery');
  const again = receiver.accepted[1]!;
  expect(again.verified).toBe(true);
  expect(again.id).toBe(first.id);
  expect(again.raw).toBe(first.raw);
  expect(receiver.acceptedCount.get(first.id)).toBe(2); // a receiver deduplicating on webhook-id drops it

  await new Promise((r) => setTimeout(r, 100));
  // Kept again once delivered: a replay by id finds it; outside the range, nothing.
  expect((await replay({ since, until: iso(Date.now() + 1000), ids: [first.id] }).expect(202)).body).toEqual({
    replayed: 1,
    eventIds: [first.id],
    more: false,
  });
  await receiver.waitFor(() => receiver.accepted.length === 3, 10_000, 'the second replay');
  await new Promise((r) => setTimeout(r, 100));
  expect((await replay({ since: iso(0), until: iso(1000) }).expect(202)).body).toEqual({
    replayed: 0,
    eventIds: [],
    more: false,
  });
});

test('a dead letter comes back once the receiver can take it, and is delivered fresh (its age counts from the replay)', async () => {
  const since = iso(Date.now() - 1000);
  ahead = 4 * DAY; // past WEBHOOK_MAX_AGE (3 days) at its first attempt
  const before = receiver.arrivals.length;
  expect((await h.agent.post('/auth/logout').type('form').send({})).status).toBeLessThan(500);
  expect((await connectXt(h.agent, { link: await linkToken('replay-person-8') })).status).toBe(303);
  for (let i = 0; i < 200 && (await h.built.ctx.stores.outbox.deadLetters(10)).length === 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  const dead = await h.built.ctx.stores.outbox.deadLetters(10);
  expect(dead).toHaveLength(1);
  expect(receiver.arrivals.length).toBe(before); // never sent

  ahead = 0;
  const res = await replay({ since, ids: [dead[0]!.id] }).expect(202);
  expect(res.body).toEqual({ replayed: 1, eventIds: [dead[0]!.id], more: false });
  await receiver.waitFor(() => receiver.acceptedCount.get(dead[0]!.id) === 1, 10_000, 'the dead letter, replayed');
  expect(receiver.accepted.at(-1)!.body.type).toBe('connection.created');
  expect(await h.built.ctx.stores.outbox.deadLetters(10)).toEqual([]);
  const log = await request(h.built.app)
    .get('/v1/webhooks/deliveries?limit=2')
    .set('Authorization', `Bearer ${LOG_KEY}`)
    .expect(200);
  // (The log orders by the worker's clock, which ran 4 days ahead for the dead attempt.)
  const entries = (log.body as { data: { eventId: string; status: string; attempt: number }[] }).data;
  expect(entries.map((e) => [e.eventId, e.status, e.attempt]).sort()).toEqual([
    [dead[0]!.id, 'dead', 1],
    [dead[0]!.id, 'delivered', 1], // a replayed event starts again at attempt 1
  ]);
});

test('what the body may hold: a 400 names the problem, 415 for anything but plain JSON, 413 past 16 kB', async () => {
  const code = async (body: unknown) =>
    ((await replay(body).expect(400)).body as { error: { code: string } }).error.code;
  expect(await code({})).toBe('bad_request');
  expect(await code({ since: 'yesterday' })).toBe('bad_request');
  expect(await code({ since: '2026-12-01T00:00:00' })).toBe('bad_request'); // no offset
  expect(await code({ since: iso(2000), until: iso(1000) })).toBe('bad_request');
  expect(await code({ since: iso(0), ids: [] })).toBe('bad_request');
  expect(await code({ since: iso(0), ids: ['not-an-id'] })).toBe('bad_request');
  expect(await code({ since: iso(0), extra: 1 })).toBe('bad_request');
  expect(await code([iso(0)])).toBe('bad_request');
  const malformed = await request(h.built.app)
    .post('/v1/webhooks/replay')
    .set('Authorization', `Bearer ${REPLAY_KEY}`)
    .set('Content-Type', 'application/json')
    .send('{"since":');
  expect(malformed.status).toBe(400);
  const text = await request(h.built.app)
    .post('/v1/webhooks/replay')
    .set('Authorization', `Bearer ${REPLAY_KEY}`)
    .set('Content-Type', 'text/plain')
    .send(JSON.stringify({ since: iso(0) }));
  expect(text.status).toBe(415);
  const gz = await request(h.built.app)
    .post('/v1/webhooks/replay')
    .set('Authorization', `Bearer ${REPLAY_KEY}`)
    .set('Content-Type', 'application/json')
    .set('Content-Encoding', 'gzip')
    .send(JSON.stringify({ since: iso(0) }));
  expect(gz.status).toBe(415);
  expect((await replay({ since: iso(0), pad: 'x'.repeat(20_000) })).status).toBe(413);
});

test('the scope: `webhooks.replay` opens it, the delivery log scope does not, no key is a 401', async () => {
  const refused = await replay({ since: iso(0) }, LOG_KEY).expect(403);
  expect(refused.body).toMatchObject({ error: { code: 'scope_missing', scope: 'webhooks.replay' } });
  expect(
    (
      await request(h.built.app)
        .post('/v1/webhooks/replay')
        .send({ since: iso(0) })
    ).status,
  ).toBe(401);
  const audit = h.logs.records().filter((r) => r.audit === true && r.event === 'webhooks_replayed');
  expect(audit.length).toBeGreaterThanOrEqual(3);
  expect(audit[0]).toMatchObject({ serviceKey: 'replayer', count: 1 });
  expect(h.logs.text()).not.toContain(REPLAY_KEY);
});

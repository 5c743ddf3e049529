/**
 * Webhook operations over the service API (scope `webhooks`): the delivery log
 * (GET /v1/webhooks/deliveries), against the real worker and a receiver (memory store here; the
 * log's store behaviour on SQLite, Redis and the Cluster: store-contract/deliveryLog.ts). The
 * contract guard checks every /v1 answer and every webhook against api/openapi.yaml.
 */
import request from 'supertest';
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { FAST, hookEnv } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const OPS_KEY = 'webhook-ops-key-0123456789abcdef0123456789';
const READ_KEY = 'read-only-key-0123456789abcdef0123456789ab';
const LEGACY_KEY = 'legacy-all-scopes-0123456789abcdef012345';
const KEYS = `ops:${OPS_KEY}:webhooks,reader:${READ_KEY}:read,legacy:${LEGACY_KEY}`;

interface Entry {
  eventId: string;
  type: string;
  status: string;
  statusCode: number | null;
  durationMs: number;
  attempt: number;
  errorClass: string | null;
  at: string;
}
interface Page {
  data: Entry[];
  nextCursor: string | null;
}

let h: Harness;
let receiver: WebhookReceiver;
const SUBJECT = 'ops-person-1';

beforeAll(async () => {
  receiver = await startReceiver();
  receiver.answer = (_a, n) => (n === 1 ? 503 : 204); // the first attempt fails, the retry is delivered
  h = await startHarness({
    env: linkEnv({ ...hookEnv(receiver), SERVICE_API_KEYS: KEYS }),
    app: { webhookTiming: FAST },
  });
  expect((await connectXt(h.agent, { link: await linkToken(SUBJECT) })).status).toBe(303);
  await receiver.waitFor(() => receiver.accepted.length === 1, 10_000, 'the retried delivery');
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

const deliveries = (query = '', key = OPS_KEY) =>
  request(h.built.app).get(`/v1/webhooks/deliveries${query}`).set('Authorization', `Bearer ${key}`);

/** The log is written right after each attempt settles: wait for the second entry. */
async function fullLog(): Promise<Page> {
  for (let i = 0; i < 100; i++) {
    const res = await deliveries();
    if (res.status === 200 && (res.body as Page).data.length >= 2) return res.body as Page;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the delivery log never showed both attempts');
}

test('each attempt is listed, newest first: id, type, status, code, duration, attempt, error class; nothing else', async () => {
  const page = await fullLog();
  const id = receiver.accepted[0]!.id;
  expect(page.nextCursor).toBeNull();
  expect(page.data).toEqual([
    expect.objectContaining({ eventId: id, type: 'connection.created', status: 'delivered', statusCode: 204 }),
    expect.objectContaining({ eventId: id, type: 'connection.created', status: 'failed', statusCode: 503 }),
  ]);
  expect(page.data.map((e) => [e.attempt, e.errorClass])).toEqual([
    [2, null],
    [1, 'http_503'],
  ]);
  for (const e of page.data) {
    expect(Object.keys(e).sort()).toEqual(
      ['at', 'attempt', 'durationMs', 'errorClass', 'eventId', 'status', 'statusCode', 'type'].sort(),
    );
    expect(e.durationMs).toBeGreaterThanOrEqual(0);
  }
  const raw = JSON.stringify(page);
  expect(raw).not.toContain(SUBJECT);
  expect(raw).not.toContain(receiver.secret.slice(6));
  expect(raw).not.toContain('token=');
});

test('status filters; limit pages with an opaque cursor; a made-up cursor is a 400', async () => {
  await fullLog();
  const failed = (await deliveries('?status=failed').expect(200)).body as Page;
  expect(failed.data.map((e) => e.status)).toEqual(['failed']);
  const first = (await deliveries('?limit=1').expect(200)).body as Page;
  expect(first.data.map((e) => e.status)).toEqual(['delivered']);
  expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]{40,}$/);
  const second = (await deliveries(`?limit=1&cursor=${first.nextCursor}`).expect(200)).body as Page;
  expect(second.data.map((e) => e.status)).toEqual(['failed']);
  const end = second.nextCursor
    ? ((await deliveries(`?limit=1&cursor=${second.nextCursor}`).expect(200)).body as Page)
    : { data: [], nextCursor: null };
  expect(end).toEqual({ data: [], nextCursor: null });

  const forged = first.nextCursor!.slice(0, -2) + (first.nextCursor!.endsWith('AA') ? 'BA' : 'AA');
  expect((await deliveries(`?cursor=${forged}`).expect(400)).body).toMatchObject({ error: { code: 'bad_request' } });
  expect((await deliveries('?status=sent').expect(400)).body).toMatchObject({ error: { code: 'bad_request' } });
  expect((await deliveries('?limit=0').expect(400)).body).toMatchObject({ error: { code: 'bad_request' } });
});

test('the scope: `webhooks` opens it, a key written without scopes has it, a read-only key is refused', async () => {
  await deliveries('', LEGACY_KEY).expect(200);
  const refused = await deliveries('', READ_KEY).expect(403);
  expect(refused.body).toMatchObject({ error: { code: 'scope_missing', scope: 'webhooks' } });
  expect((await request(h.built.app).get('/v1/webhooks/deliveries')).status).toBe(401);
  // And the webhooks key opens nothing else.
  const other = await request(h.built.app).get('/v1/connections').set('Authorization', `Bearer ${OPS_KEY}`);
  expect(other.body).toMatchObject({ error: { code: 'scope_missing', scope: 'read' } });
});

/**
 * Traces of the work around a request (issue 26 §4): a webhook delivery is a span with its outcome,
 * a refresh that waits for another holder's lock says so in an event, and a linked login's subject
 * (and the link token, and the webhook's URL token) never reach an exported byte.
 */
import { type Harness, authorizeAtStandIn, connectXt, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlpReceiver.js';
import { FAST, QUERY_TOKEN, hookEnv } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';
import { refreshLockKey } from '../../src/session/connections/lock.js';

const KEY = 'k'.repeat(40);
let otlp: OtlpReceiver;
let hooks: WebhookReceiver | undefined;
let h: Harness | undefined;

beforeEach(async () => {
  otlp = await startOtlpReceiver();
});
afterEach(async () => {
  await h?.close();
  await h?.built.ctx.tracing?.shutdown();
  h = undefined;
  await hooks?.close();
  hooks = undefined;
  await otlp.close();
});

const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

function scan(text: string, secrets: string[]): void {
  for (const s of secrets) if (s && text.includes(s)) throw new Error(`a secret reached a span: ${s.slice(0, 6)}…`);
}

test('a linked login delivers a webhook and the backend calls XT.COM for the subject: spans with outcomes and route templates, and no subject, key, token or URL is exported', async () => {
  hooks = await startReceiver();
  h = await startHarness({
    env: { ...hookEnv(hooks), ...linkEnv(), SERVICE_API_KEYS: `ops:${KEY}`, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url },
    app: { webhookTiming: FAST },
  });
  const subject = 'user-4711@example.com';
  const link = await linkToken(subject);
  expect((await connectXt(h.agent, { link })).status).toBe(303);
  await hooks.waitFor(() => hooks!.accepted.length === 1, 5000, 'connection.created');
  await new Promise((r) => setTimeout(r, 100)); // the worker records the outcome after the answer
  // The institution's backend calls XT.COM for the subject: the route names {sub}, never the subject.
  const v1 = await h.agent
    .get(`/v1/subjects/${encodeURIComponent(subject)}/xt/spot/v4/balances?currencies=usdt`)
    .set('Authorization', `Bearer ${KEY}`);
  expect(v1.status).toBe(200);
  await h.built.ctx.tracing!.forceFlush();
  const server = named(otlp.spans, 'GET /v1/subjects/{sub}/xt/spot/v4/balances')[0]!;
  expect(server.attributes['http.route']).toBe('/v1/subjects/{sub}/xt/spot/v4/balances');
  const xt = named(otlp.spans, 'XT.COM GET /spot/v4/balances')[0]!;
  expect(xt).toMatchObject({ parentSpanId: server.spanId, attributes: { 'xtc.caller': 'service' } });

  const [delivery, ...more] = named(otlp.spans, 'webhook.delivery');
  expect(more).toEqual([]);
  expect(delivery).toMatchObject({
    kind: 3,
    parentSpanId: undefined, // background work: a trace of its own
    attributes: {
      'http.request.method': 'POST',
      'webhook.attempt': 1,
      'webhook.outcome': 'delivered',
      'http.response.status_code': 204,
    },
  });
  const text = otlp.bodies.join('\n');
  scan(text, [...h.secrets(), subject, encodeURIComponent(subject), link, QUERY_TOKEN, hooks.secret, KEY]);
  expect(text).not.toMatch(/usdt|currencies/);
  expect(text).not.toContain('/hooks');
  expect(text).not.toContain(hooks.accepted[0]!.id); // nor the webhook-id
});

test('a refresh that waits for another holder of the lock records the wait as an event', async () => {
  const owners: string[] = [];
  h = await startHarness({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url },
    app: { onConnected: (o) => owners.push(o), timing: { refreshWaitMs: 3000 } },
  });
  const login = await h.agent.get('/auth/xt/login');
  expect((await h.agent.get(await authorizeAtStandIn(login.headers.location!))).status).toBe(303);
  // Another replica holds the refresh lock for a moment.
  const store = h.built.ctx.stores.authState;
  const key = refreshLockKey(owners[0]!, 'xt');
  const token = await store.acquireLock(key, 5000);
  expect(token).not.toBeNull();
  setTimeout(() => void store.releaseLock(key, token!), 300);
  h.xt.revokeAccessTokens(); // the call's 401 needs a refresh
  expect((await h.agent.get('/api/xt/spot/v4/balances')).status).toBe(200);
  await h.built.ctx.tracing!.forceFlush();

  const [refresh] = named(otlp.spans, 'connection.refresh');
  const wait = refresh!.events.find((e) => e.name === 'refresh.lock_wait');
  expect(wait?.attributes).toMatchObject({ outcome: 'acquired' });
  expect(wait!.attributes.wait_ms).toBeGreaterThanOrEqual(200);
  scan(otlp.bodies.join('\n'), [...h.secrets(), ...owners]);
});

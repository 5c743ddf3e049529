/**
 * webhooks.verify on real deliveries: the app's worker POSTs connection.created and
 * connection.ended to a loopback receiver (test/helpers/webhookReceiver.ts); the client verifies
 * them as captured (node's headers, a fetch Headers, a Buffer), and refuses a tampered body, an
 * old timestamp, missing headers, another secret and a signed body that is no event.
 */
import { Webhook } from 'standardwebhooks';
import { FAST, hookEnv } from '../../../test/helpers/webhooks.js';
import { type WebhookReceiver, startReceiver, webhookSecret } from '../../../test/helpers/webhookReceiver.js';
import { type WebhookEvent, WebhookVerificationError, type XtConnect } from '../src/index.js';
import { type RunningApp, openLink, startApp } from './app.js';

let receiver: WebhookReceiver;
let app: RunningApp;
let xc: XtConnect;
beforeAll(async () => {
  receiver = await startReceiver();
  app = await startApp(hookEnv(receiver), { webhookTiming: FAST });
  xc = app.client({ webhookSecret: receiver.secret });
  expect((await openLink(await xc.mintLinkUrl({ sub: '42' }))).status).toBe(303);
  await xc.connections.end('42', 'xt');
  await receiver.waitFor(() => receiver.accepted.length === 2, 5000, 'both events');
});
afterAll(async () => {
  await app.close();
  await receiver.close();
});

const refusal = (f: () => unknown): WebhookVerificationError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WebhookVerificationError);
    return e as WebhookVerificationError;
  }
  throw new Error('expected a refusal');
};

/** What the handler of an institution would do with an event: the union narrows on `type`. */
function describeEvent(ev: WebhookEvent): string {
  switch (ev.type) {
    case 'connection.created':
      return `created ${ev.data.subject} ${ev.data.provider}`;
    case 'connection.reconnected':
      return `reconnected ${ev.data.subject} ${ev.data.provider} ${ev.data.connectionId}`;
    case 'connection.ended':
      return `ended ${ev.data.subject} ${ev.data.provider} ${ev.data.reason}`;
    case 'connection.expiring':
      return `expiring ${ev.data.subject} ${ev.data.provider} ${ev.data.expiresAt} ${ev.data.reason}`;
  }
}

test('both real deliveries verify, from node headers, a fetch Headers and a Buffer', () => {
  const [created, ended] = receiver.accepted;
  const ev = xc.webhooks.verify(created!.headers, created!.raw);
  expect(ev).toEqual({
    type: 'connection.created',
    timestamp: expect.any(String) as string,
    data: {
      connectionId: expect.stringMatching(/^conn_[A-Za-z0-9_-]{22}$/) as string,
      subject: '42',
      provider: 'xt',
      userId: '12345678',
      scope: 'userinfo',
      reason: null,
    },
  });
  expect(describeEvent(ev)).toBe('created 42 xt');
  const headers = new Headers(created!.headers as Record<string, string>);
  expect(xc.webhooks.verify(headers, Buffer.from(created!.raw))).toEqual(ev);
  const endedEv = xc.webhooks.verify(ended!.headers, new TextEncoder().encode(ended!.raw));
  expect(describeEvent(endedEv)).toBe('ended 42 xt revoked_by_service');
});

test('a tampered body, or another secret, is a signature failure', () => {
  const { headers, raw } = receiver.accepted[0]!;
  expect(refusal(() => xc.webhooks.verify(headers, raw.replace('"42"', '"43"'))).reason).toBe('signature');
  const other = app.client({ webhookSecret: webhookSecret() });
  expect(refusal(() => other.webhooks.verify(headers, raw)).reason).toBe('signature');
});

test('an old timestamp is refused, signed or not', () => {
  const { headers, raw } = receiver.accepted[0]!;
  const old = Math.floor(Date.now() / 1000) - 6 * 60;
  expect(refusal(() => xc.webhooks.verify({ ...headers, 'webhook-timestamp': String(old) }, raw)).reason).toBe(
    'timestamp',
  );
  const id = String(headers['webhook-id']);
  const signed = new Webhook(receiver.secret).sign(id, new Date(old * 1000), raw);
  const resigned = { 'webhook-id': id, 'webhook-timestamp': String(old), 'webhook-signature': signed };
  expect(refusal(() => xc.webhooks.verify(resigned, raw)).reason).toBe('timestamp');
  // The same signature made now is good: only the time was wrong.
  const now = Math.floor(Date.now() / 1000);
  const fresh = new Webhook(receiver.secret).sign(id, new Date(now * 1000), raw);
  const good = { 'webhook-id': id, 'webhook-timestamp': String(now), 'webhook-signature': fresh };
  expect(xc.webhooks.verify(good, raw).type).toBe('connection.created');
});

test('missing or malformed headers, and a signed body that is no event, are refused', () => {
  const { headers, raw } = receiver.accepted[0]!;
  const { 'webhook-signature': _dropped, ...unsigned } = headers;
  expect(refusal(() => xc.webhooks.verify(unsigned, raw)).reason).toBe('headers');
  expect(refusal(() => xc.webhooks.verify({ ...headers, 'webhook-timestamp': 'soon' }, raw)).reason).toBe('headers');
  const now = new Date();
  for (const body of ['{"type":"connection.paused","timestamp":"x","data":{}}', 'not json']) {
    const h = {
      'webhook-id': 'msg_0123456789abcdef',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(receiver.secret).sign('msg_0123456789abcdef', now, body),
    };
    expect(refusal(() => xc.webhooks.verify(h, body)).reason).toBe('payload');
  }
});

test('without webhookSecret, verify says what is missing', () => {
  const { headers, raw } = receiver.accepted[0]!;
  expect(() => app.client().webhooks.verify(headers, raw)).toThrow(/webhookSecret/);
});

test('during a rotation (WEBHOOK_SECRET=new,old) a client with either secret verifies every delivery', async () => {
  const OLD = webhookSecret();
  const rotating = await startReceiver({ secret: OLD });
  const NEW = webhookSecret();
  const app2 = await startApp(hookEnv(rotating, { WEBHOOK_SECRET: `${NEW},${OLD}` }), { webhookTiming: FAST });
  try {
    const xc2 = app2.client();
    expect((await openLink(await xc2.mintLinkUrl({ sub: '7' }))).status).toBe(303);
    await rotating.waitFor(() => rotating.accepted.length === 1, 5000, 'connection.created');
    const [a] = rotating.accepted;
    expect(String(a!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [OLD, NEW])
      expect(app2.client({ webhookSecret: secret }).webhooks.verify(a!.headers, a!.raw).type).toBe(
        'connection.created',
      );
    expect(rotating.badSignatures).toBe(0);
  } finally {
    await app2.close();
    await rotating.close();
  }
});

test('webhooks.deliveries: the delivery log, typed, newest first, filtered by status', async () => {
  const page = await xc.webhooks.deliveries({ status: 'delivered', limit: 10 });
  const ids = receiver.accepted.map((a) => a.id).reverse();
  expect(page.data.map((e) => e.eventId)).toEqual(ids);
  expect(page.data.every((e) => e.status === 'delivered' && e.statusCode === 204 && e.errorClass === null)).toBe(true);
  expect(page.nextCursor).toBeNull();
});

test('webhooks.replay: delivered events come back with their own webhook-id; a Date works as well as a string', async () => {
  const before = receiver.accepted.length;
  const first = receiver.accepted[0]!;
  const result = await xc.webhooks.replay({ since: new Date(0), ids: [first.id] });
  expect(result).toEqual({ replayed: 1, eventIds: [first.id], more: false });
  await receiver.waitFor(() => receiver.accepted.length === before + 1, 5000, 'the replayed event');
  expect(receiver.accepted.at(-1)!.id).toBe(first.id);
  expect(xc.webhooks.verify(receiver.accepted.at(-1)!.headers, receiver.accepted.at(-1)!.raw).type).toBe(
    'connection.created',
  );
  const refused = await xc.webhooks.replay({ since: '2026-12-01T00:00:00' }).catch((e: unknown) => e);
  expect(refused).toMatchObject({ code: 'bad_request', status: 400 });
});

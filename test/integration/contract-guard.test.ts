/**
 * The contract guard (helpers/contractGuard.ts, installed by test/setup/contract.ts) catches drift
 * without the test asking: an answer under /v1 or /api with a field the schema lacks, without a
 * required field, with an undocumented status or content type, and a webhook the receiver accepts
 * that the contract does not describe, are each reported; the real app's answers, including a 404
 * for a route no operation describes, are not. Each test takes what the guard found itself
 * (takeViolations), so the guard's own afterEach has nothing left to fail on.
 */
import express from 'express';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { takeViolations } from '../helpers/contractGuard.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { startReceiver } from '../helpers/webhookReceiver.js';

const KEY = 'guard-key-0123456789abcdef0123456789abcd';
const REQUEST_ID = '6f1c2a9e-53b4-4c0d-9a51-2f8e8f0c1d2b';

/** A stand-in for a drifted app: answers GET /v1/subjects/{sub}/connections with whatever the test gives. */
function drifted(status: number, body: unknown, type = 'application/json') {
  const app = express();
  app.get('/v1/subjects/:sub/connections', (_req, res) => {
    res.status(status).set({ 'Cache-Control': 'no-store', 'X-Request-Id': REQUEST_ID }).type(type).send(body);
  });
  return request(app).get('/v1/subjects/c-1/connections');
}

const connections = { subject: 'c-1', connected: false, providers: {} };

test('an answer that departs from the contract is reported, naming the request and each departure', async () => {
  await takeViolations(); // nothing from before
  await drifted(200, { ...connections, extra: 1 });
  await drifted(418, { error: 'teapot' });
  await drifted(401, { error: { code: 'unauthorized', requestId: REQUEST_ID } }); // no message
  await drifted(200, 'connected', 'text/plain');
  const found = await takeViolations();
  expect(found).toHaveLength(4);
  expect(found[0]).toMatch(/^GET \/v1\/subjects\/c-1\/connections → 200 departs[\s\S]*additional properties/);
  expect(found[1]).toMatch(/status 418 is not documented/);
  expect(found[2]).toMatch(/must have required property 'message'/);
  expect(found[3]).toMatch(/content type "text\/plain" is not documented/);
});

describe('the real app', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { SERVICE_API_KEYS: `backend:${KEY}` } });
  });
  afterAll(async () => h?.close());

  test('its answers pass, a 404 for a route no operation describes included; pages are not checked', async () => {
    await takeViolations();
    const app = () => request(h.built.app);
    expect((await app().get('/v1/subjects/c-1/connections').set('Authorization', `Bearer ${KEY}`)).status).toBe(200);
    expect((await app().get('/v1/no/such/route').set('Authorization', `Bearer ${KEY}`)).status).toBe(404);
    expect((await app().get('/v1/no/such/route')).status).toBe(401);
    expect((await app().post('/v1/subjects/c-1/connections').set('Authorization', `Bearer ${KEY}`)).status).toBe(404);
    expect((await app().get('/api/no/such/route')).status).toBe(404);
    expect((await app().get('/api/session')).status).toBe(200);
    expect((await app().get('/no/such/page')).status).toBe(404);
    expect(await takeViolations()).toEqual([]);
  });
});

test('a webhook the receiver accepts is checked against the contract too', async () => {
  const receiver = await startReceiver();
  try {
    const post = async (event: object) => {
      const raw = JSON.stringify(event);
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) };
      const signature = new Webhook(receiver.secret).sign(headers['webhook-id'], new Date(), raw);
      const res = await fetch(receiver.url, {
        method: 'POST',
        headers: { ...headers, 'webhook-signature': signature, 'content-type': 'application/json' },
        body: raw,
      });
      expect(res.status).toBe(204);
    };
    await takeViolations();
    await post({ type: 'connection.renamed', timestamp: new Date().toISOString(), data: {} });
    await post({ type: 'connection.created', timestamp: new Date().toISOString(), data: { subject: 'c-1' } });
    const found = await takeViolations();
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/no webhook "connection.renamed" in the contract/);
    expect(found[1]).toMatch(/^a webhook the receiver accepted departs[\s\S]*must have required property/);
  } finally {
    await receiver.close();
  }
});

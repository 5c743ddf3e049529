/**
 * DELETE /v1/subjects/{sub}: the institution offboards a user. Every connection of the subject
 * ends (as with the per-provider DELETE), and so does every browser binding to it: a browser a
 * link bound before the call is an unbound browser again, on every replica, and a login already
 * under way for the subject does not land. Tried the way the offboarded user would: in the same
 * browser, Connect without a link, approved as another XT.COM account.
 */
import { createClient } from 'redis';
import request from 'supertest';
import type { Env } from '../../src/config/index.js';
import {
  authorizeAtStandIn,
  connectXt,
  errorCode,
  type Harness,
  sessionJson,
  startHarness,
} from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const KEY = 'backend-key-0123456789abcdef0123456789';
const serviceEnv = (extra: Env = {}) => linkEnv({ SERVICE_API_KEYS: `backend:${KEY}`, ...extra });
const bearer = { Authorization: `Bearer ${KEY}` };
const FAST = { firstRetryMs: 50, pollMs: 50 };

/** Whether the service API says the subject is connected to XT.COM. */
async function subjectConnected(h: Harness, sub: string): Promise<boolean> {
  const res = await request(h.built.app).get(`/v1/subjects/${sub}/connections`).set(bearer).expect(200);
  return (res.body as { providers: { xt: { connected: boolean } } }).providers.xt.connected;
}

const endSubject = (h: Harness, sub: string) => request(h.built.app).delete(`/v1/subjects/${sub}`).set(bearer);
const auditLines = (h: Harness, event: string) => h.logs.records().filter((r) => r.audit === true && r.event === event);

/** The XT.COM card's state on the account page. */
const accountState = async (agent: Harness['agent']) =>
  /data-provider="xt" data-state="([^"]+)"/.exec((await agent.get('/account')).text)?.[1];

let h: Harness;
afterEach(() => h?.close());

describe.each([
  ['LINK_REQUIRED=false', 'false'],
  ['LINK_REQUIRED=true', 'true'],
])('%s: after DELETE /v1/subjects/{sub}, the bound browser cannot connect the subject again', (_name, required) => {
  test('Connect without a link, approved as another XT.COM account, leaves the subject unconnected', async () => {
    h = await startHarness({ env: serviceEnv({ LINK_REQUIRED: required }) });
    expect((await connectXt(h.agent, { link: await linkToken('leaver-1') })).status).toBe(303);
    expect(await subjectConnected(h, 'leaver-1')).toBe(true);

    expect((await endSubject(h, 'leaver-1')).status).toBe(204);
    expect(await subjectConnected(h, 'leaver-1')).toBe(false);

    // The same browser, the app's own Connect button: no link.
    const login = await h.agent.get('/auth/xt/login');
    if (required === 'true') {
      expect(login.status).toBe(403); // what an unbound browser gets: the page that asks for a link
      expect(errorCode(login.text)).toBe('link_required');
    } else {
      expect(login.status).toBe(302);
      const callback = await authorizeAtStandIn(login.headers.location!, 'approve', '99990001');
      expect((await h.agent.get(callback)).status).toBe(303);
      // Connected, but as the unbound browser it now is: its own connection, not the subject's.
      expect(sessionJson(await h.agent.get('/api/session')).providers.xt.connected).toBe(true);
    }
    expect(await subjectConnected(h, 'leaver-1')).toBe(false);
  });
});

test('a link minted before the DELETE, kept unused, no longer binds or connects the subject; one minted after does', async () => {
  h = await startHarness({ env: serviceEnv() });
  expect((await connectXt(h.agent, { link: await linkToken('leaver-2') })).status).toBe(303);
  const kept = await linkToken('leaver-2', { iatIn: -5 }); // minted before the offboarding, never used
  expect((await endSubject(h, 'leaver-2')).status).toBe(204);

  const fresh = request.agent(h.built.app);
  const refused = await fresh.get(`/auth/xt/login?link=${kept}`);
  expect(refused.status).toBe(400);
  expect(errorCode(refused.text)).toBe('link_expired');
  // Without iat nothing says when it was minted: refused too, once the subject was ended.
  expect(errorCode((await fresh.get(`/auth/xt/login?link=${await linkToken('leaver-2', { iatIn: null })}`)).text)).toBe(
    'link_expired',
  );
  expect(await subjectConnected(h, 'leaver-2')).toBe(false);

  // The institution links the user again, later: that link works.
  expect((await connectXt(fresh, { link: await linkToken('leaver-2', { iatIn: 2 }), asUser: '40000077' })).status).toBe(
    303,
  );
  expect(await subjectConnected(h, 'leaver-2')).toBe(true);
});

test('every browser bound to the subject is unbound: /api/session, /api/xt and the account page no longer show its connection', async () => {
  h = await startHarness({ env: serviceEnv() });
  expect((await connectXt(h.agent, { link: await linkToken('leaver-2') })).status).toBe(303);
  // A second browser that had connected an account of its own before a link bound it: hidden while bound.
  const other = request.agent(h.built.app);
  expect((await connectXt(other, { asUser: '77770001' })).status).toBe(303);
  const own = sessionJson(await other.get('/api/session')).providers.xt.userId;
  expect((await other.get(`/auth/xt/login?link=${await linkToken('leaver-2')}`)).status).toBe(303);
  const subjects = sessionJson(await h.agent.get('/api/session')).providers.xt.userId;
  expect(subjects).not.toBe(own);
  for (const agent of [h.agent, other]) {
    expect(sessionJson(await agent.get('/api/session')).providers.xt).toMatchObject({
      connected: true,
      userId: subjects,
    });
    expect(await accountState(agent)).toBe('connected');
  }
  // Another subject is not touched.
  expect((await connectXt(request.agent(h.built.app), { link: await linkToken('stayer') })).status).toBe(303);

  expect((await endSubject(h, 'leaver-2')).status).toBe(204);
  expect((await endSubject(h, 'leaver-2')).status).toBe(204); // idempotent

  expect(sessionJson(await h.agent.get('/api/session')).providers.xt.connected).toBe(false);
  expect(await accountState(h.agent)).toBe('not-connected');
  expect(((await h.agent.get('/api/xt/spot/v4/balances')).body as { error: { code: string } }).error.code).toBe(
    'not_connected',
  );
  // Unbound, the second browser sees its own connection again, not the subject's.
  expect(sessionJson(await other.get('/api/session')).providers.xt).toMatchObject({ connected: true, userId: own });
  expect(await subjectConnected(h, 'stayer')).toBe(true);
  // A new link from the institution binds again, and the subject can be connected again.
  expect((await connectXt(other, { link: await linkToken('leaver-2') })).status).toBe(303);
  expect(await subjectConnected(h, 'leaver-2')).toBe(true);
});

test('a login already under way for the bound browser does not land once the subject is ended', async () => {
  h = await startHarness({ env: serviceEnv() });
  expect((await h.agent.get(`/auth/xt/login?link=${await linkToken('leaver-3')}`)).status).toBe(302); // bound, not connected
  const login = await h.agent.get('/auth/xt/login'); // Connect, bound: a login for the subject
  const callback = await authorizeAtStandIn(login.headers.location!, 'approve', '99990001');
  expect((await endSubject(h, 'leaver-3')).status).toBe(204);
  const res = await h.agent.get(callback);
  expect(errorCode(res.text)).toBe('login_expired');
  expect(await subjectConnected(h, 'leaver-3')).toBe(false);
});

test('race: the DELETE lands while the callback is storing the connection; the subject is not connected after both', async () => {
  h = await startHarness({ env: serviceEnv() });
  expect((await h.agent.get(`/auth/xt/login?link=${await linkToken('leaver-4')}`)).status).toBe(302);
  const login = await h.agent.get('/auth/xt/login');
  const callback = await authorizeAtStandIn(login.headers.location!, 'approve', '99990001');
  // The worst moment: the callback has passed every check and exchanged the code; the whole DELETE
  // (its new epoch and its sweep of the connections) runs just before the connection is written.
  const connections = h.built.ctx.connections;
  const connect = connections.connect.bind(connections);
  let deleted = 0;
  connections.connect = async (...args: Parameters<typeof connect>) => {
    deleted = (await endSubject(h, 'leaver-4')).status;
    return connect(...args);
  };
  const res = await h.agent.get(callback);
  expect(deleted).toBe(204);
  expect(errorCode(res.text)).toBe('login_expired');
  expect(await subjectConnected(h, 'leaver-4')).toBe(false);
  expect(auditLines(h, 'disconnected').map((l) => l.reason)).toEqual(['revoked_by_service']); // what it had stored is taken back
});

test('each connection ended gets a disconnected audit line and a connection.ended webhook; nothing in clear about the subject', async () => {
  const receiver: WebhookReceiver = await startReceiver();
  try {
    h = await startHarness({
      env: serviceEnv({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret }),
      app: { webhookTiming: FAST },
    });
    expect((await connectXt(h.agent, { link: await linkToken('leaver-5') })).status).toBe(303);
    expect((await endSubject(h, 'leaver-5')).status).toBe(204);
    await receiver.waitFor(() => receiver.accepted.length === 2, 5000, 'connection.ended');
    expect(receiver.accepted.map((a) => [a.body.type, a.body.data.subject, a.body.data.reason])).toEqual([
      ['connection.created', 'leaver-5', null],
      ['connection.ended', 'leaver-5', 'revoked_by_service'],
    ]);
    expect(auditLines(h, 'disconnected').map((l) => [l.provider, l.reason])).toEqual([['xt', 'revoked_by_service']]);
    expect(auditLines(h, 'subject_ended')).toHaveLength(1);
    expect(auditLines(h, 'service_call').find((l) => l.method === 'DELETE')?.route).toBe('subject');
    expect(h.logs.text()).not.toContain('leaver-5');
  } finally {
    await h.close();
    await receiver.close();
  }
});

test('a malformed subject is a 400 and a missing key a 401, both JSON; nothing is ended', async () => {
  h = await startHarness({ env: serviceEnv() });
  expect((await connectXt(h.agent, { link: await linkToken('stays-1') })).status).toBe(303);
  for (const sub of ['bad%20sub', 'x'.repeat(129), '%E0%A4%A', 'a%2Fb']) {
    const res = await request(h.built.app).delete(`/v1/subjects/${sub}`).set(bearer);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.type).toBe('application/json');
  }
  expect((await request(h.built.app).delete('/v1/subjects/stays-1')).status).toBe(401);
  expect(await subjectConnected(h, 'stays-1')).toBe(true);
  expect(sessionJson(await h.agent.get('/api/session')).providers.xt.connected).toBe(true);
});

describe('two replicas on Redis', () => {
  let redis: RedisServer;
  let b: Harness | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());
  afterEach(() => b?.close());

  test('the DELETE on one replica unbinds the browser on the other, and the store holds no subject in clear', async () => {
    const env = serviceEnv({ SESSION_STORE: 'redis', REDIS_URL: redis.url, LINK_REQUIRED: 'true' });
    h = await startHarness({ env });
    b = await startHarness({ env, standIn: h.xt });
    expect((await connectXt(h.agent, { link: await linkToken('leaver-6') })).status).toBe(303);
    expect((await endSubject(b, 'leaver-6')).status).toBe(204);
    expect(sessionJson(await h.agent.get('/api/session')).providers.xt.connected).toBe(false);
    expect(errorCode((await h.agent.get('/auth/xt/login')).text)).toBe('link_required');
    const admin = createClient({ url: redis.url });
    await admin.connect();
    const keys = await admin.keys('*').finally(() => admin.close());
    expect(keys.some((k) => k.includes('subject-epoch:sub.'))).toBe(true);
    expect(keys.join('\n')).not.toContain('leaver-6');
  });
});

/**
 * The service API (/v1) for the institution's backend: bearer keys, the subject's connections,
 * XT.COM calls through its own allow-list, and disconnect. Real HTTP against the XT.COM stand-in;
 * the replica test shares one real redis-server between two apps.
 */
import request from 'supertest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { BASE_ENV, connectXt, type Harness, sidCookie, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { openSealed, recipientPair } from '../helpers/apiKeyRecipient.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const KEY = 'backend-key-0123456789abcdef0123456789';
const REPORTS_KEY = 'reports-key-0123456789abcdef0123456789';
const serviceEnv = (extra = {}) => linkEnv({ SERVICE_API_KEYS: `backend:${KEY},reports:${REPORTS_KEY}`, ...extra });
const bearer = (key = KEY) => ({ Authorization: `Bearer ${key}` });

interface ConnectionsJson {
  subject: string;
  connected: boolean;
  providers: Record<
    string,
    {
      connected: boolean;
      userId: string | null;
      scope: string | null;
      reason: string | null;
      accessTokenExpiresAt: string | null;
    }
  >;
}

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ env: serviceEnv() });
});
afterEach(() => h.close());

const connectSubject = async (sub: string, agent = h.agent) =>
  expect((await connectXt(agent, { link: await linkToken(sub) })).status).toBe(303);

describe('authentication', () => {
  test('no key, a wrong key, another scheme and a session cookie alone each get 401 JSON with WWW-Authenticate: Bearer', async () => {
    await connectSubject('user-42');
    const cookie = sidCookie(await h.agent.get(`/auth/xt/login?link=${await linkToken('user-42')}`));
    const tries = [
      request(h.built.app).get('/v1/subjects/user-42/connections'),
      request(h.built.app)
        .get('/v1/subjects/user-42/connections')
        .set(bearer('x'.repeat(40))),
      request(h.built.app)
        .get('/v1/subjects/user-42/connections')
        .set(bearer(KEY.slice(0, -1))),
      request(h.built.app)
        .get('/v1/subjects/user-42/connections')
        .set('Authorization', `Basic ${Buffer.from(`backend:${KEY}`).toString('base64')}`),
      request(h.built.app).get('/v1/subjects/user-42/connections').set('Cookie', cookie),
      request(h.built.app).get('/v1/subjects/user-42/xt/spot/v4/balances').set('Cookie', cookie),
      request(h.built.app).delete('/v1/subjects/user-42/connections/xt').set('Cookie', cookie),
      request(h.built.app).get('/v1/no/such/route'),
    ];
    for (const res of await Promise.all(tries)) {
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="xt-connect"/);
      expect((res.body as { error: { code: string } }).error.code).toBe('unauthorized');
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    // The cookie-only tries changed nothing.
    const status = await request(h.built.app).get('/v1/subjects/user-42/connections').set(bearer());
    expect((status.body as ConnectionsJson).connected).toBe(true);
  });

  test('a request in another letter case gets the same JSON 401', async () => {
    const res = await request(h.built.app).get('/V1/Subjects/user-42/connections');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect((res.body as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  test('the key name is logged with every call, the key never; the subject is not in the access line', async () => {
    await request(h.built.app)
      .get('/v1/subjects/jane.doe@example.org/connections')
      .set(bearer(REPORTS_KEY))
      .expect(200);
    expect(h.logs.text()).not.toContain('jane.doe@example.org');
    await request(h.built.app).get('/v1/subjects/u1/connections').set(bearer(REPORTS_KEY)).expect(200);
    const lines = h.logs
      .records()
      .filter((r) => r.msg === 'request completed' && String((r.req as { url?: string })?.url).startsWith('/v1/'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((r) => r.serviceKey === 'reports')).toBe(true);
    expect(h.logs.text()).not.toContain(REPORTS_KEY); // (close() scans for every key too)
  });
});

describe('with a key', () => {
  test('an unknown subject answers the same shape, every provider not connected', async () => {
    const res = await request(h.built.app).get('/v1/subjects/nobody@example.org/connections').set(bearer()).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      subject: 'nobody@example.org',
      connected: false,
      providers: {
        xt: {
          connected: false,
          connectionId: null,
          userId: null,
          scope: null,
          accessTokenExpiresAt: null,
          refreshTokenExpiresAt: null,
          lastRefreshedAt: null,
          reason: 'not_connected',
        },
      },
    });
  });

  test('status, an XT.COM call and disconnect for a linked subject; no token ever', async () => {
    await connectSubject('user-42');
    const status = await request(h.built.app).get('/v1/subjects/user-42/connections').set(bearer()).expect(200);
    const body = status.body as ConnectionsJson;
    expect(body.connected).toBe(true);
    expect(body.providers.xt).toMatchObject({
      connected: true,
      userId: '12345678',
      scope: expect.any(String) as string,
      reason: null,
    });
    expect(Date.parse(body.providers.xt!.accessTokenExpiresAt!)).toBeGreaterThan(Date.now());

    const balances = await request(h.built.app)
      .get('/v1/subjects/user-42/xt/spot/v4/balances?currencies=usdt')
      .set(bearer())
      .expect(200);
    expect((balances.body as { rc: number }).rc).toBe(0);
    for (const s of h.xt.issued()) {
      expect(status.text).not.toContain(s);
      expect(balances.text).not.toContain(s);
    }

    const del = await request(h.built.app).delete('/v1/subjects/user-42/connections/xt').set(bearer());
    expect(del.status).toBe(204);
    expect((await request(h.built.app).delete('/v1/subjects/user-42/connections/xt').set(bearer())).status).toBe(204); // idempotent
    const after = await request(h.built.app).get('/v1/subjects/user-42/connections').set(bearer()).expect(200);
    expect((after.body as ConnectionsJson).connected).toBe(false);
    // The browser linked to that subject sees it too.
    expect(((await h.agent.get('/api/session')).body as { connected: boolean }).connected).toBe(false);
    expect((await request(h.built.app).get('/v1/subjects/user-42/xt/spot/v4/balances').set(bearer())).status).toBe(409);
  });

  test('a subject that is not connected answers 409 not_connected', async () => {
    const res = await request(h.built.app).get('/v1/subjects/user-7/xt/spot/v4/balances').set(bearer());
    expect(res.status).toBe(409);
    expect((res.body as { error: { code: string } }).error.code).toBe('not_connected');
  });

  test('allow-list refusals: order placement by default, the api-key path always, bad paths and subjects', async () => {
    await connectSubject('user-42');
    const app = request(h.built.app);
    const order = await app.post('/v1/subjects/user-42/xt/spot/v4/order').set(bearer()).send({ symbol: 'btc_usdt' });
    expect(order.status).toBe(403);
    expect((order.body as { error: { code: string } }).error.code).toBe('not_allowed');
    for (const p of ['/user/account/api-key', '/USER/account/api-key', '/user/account/api-key.json']) {
      expect((await app.post(`/v1/subjects/user-42/xt${p}`).set(bearer())).status).toBe(403);
    }
    expect((await app.get('/v1/subjects/user-42/xt/spot/v4/%2e%2e/balances').set(bearer())).status).toBe(400);
    expect((await app.get('/v1/subjects/bad%20subject/connections').set(bearer())).status).toBe(400);
    expect((await app.get(`/v1/subjects/${'x'.repeat(129)}/connections`).set(bearer())).status).toBe(400);
    expect((await app.delete('/v1/subjects/user-42/connections/nope').set(bearer())).status).toBe(404);
    expect((await app.put('/v1/subjects/user-42/xt/spot/v4/balances').set(bearer())).status).toBe(405);
  });

  test('SERVICE_RATE_LIMIT counts per key name', async () => {
    await h.close();
    h = await startHarness({ env: serviceEnv({ SERVICE_RATE_LIMIT: '5' }) });
    const app = request(h.built.app);
    const first = await Promise.all(
      Array.from({ length: 8 }, () => app.get('/v1/subjects/u/connections').set(bearer())),
    );
    expect(first.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(1);
    expect(first.filter((r) => r.status === 200).length).toBeLessThanOrEqual(5);
    expect((await app.get('/v1/subjects/u/connections').set(bearer(REPORTS_KEY))).status).toBe(200);
  });
});

describe('configuration', () => {
  const load = (extra: Record<string, string>) => () => loadConfig({ ...BASE_ENV, XT_ENABLED: 'false', ...extra });

  test('listing POST /user/account/api-key needs SERVICE_ALLOW_API_KEY_CREATION=true, else the app does not start', () => {
    const allow = 'GET /spot/v4/balances,POST /user/account/api-key';
    expect(load({ SERVICE_API_KEYS: `a:${KEY}`, SERVICE_XT_API_ALLOW: allow })).toThrow(
      /SERVICE_ALLOW_API_KEY_CREATION/,
    );
    expect(
      load({
        SERVICE_API_KEYS: `a:${KEY}`,
        SERVICE_XT_API_ALLOW: 'POST /user/account/*',
        SERVICE_ALLOW_API_KEY_CREATION: 'true',
      }),
    ).toThrow(ConfigError);
    const on = { SERVICE_API_KEYS: `a:${KEY}`, SERVICE_XT_API_ALLOW: allow, SERVICE_ALLOW_API_KEY_CREATION: 'true' };
    expect(load(on)).toThrow(/needs SERVICE_API_KEY_RECIPIENT/); // issue 26: never a secret in clear
    expect(load({ ...on, SERVICE_API_KEY_RECIPIENT: recipientPair('EC').env })).not.toThrow();
  });

  test('short keys, duplicate names and malformed entries are refused, without echoing a key', () => {
    let err: unknown;
    try {
      load({ SERVICE_API_KEYS: `a:short-key,b:${KEY},b:${REPORTS_KEY},nocolon${KEY}` })();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as Error).message;
    expect(text).toMatch(/"a" must be at least 32/);
    expect(text).toMatch(/"b" is used twice/);
    expect(text).toMatch(/entry #4/);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('short-key');
  });

  test('with the flag, the service API can create an API key (and only that exact request)', async () => {
    await h.close();
    h = await startHarness({
      env: serviceEnv({
        SERVICE_XT_API_ALLOW: 'GET /spot/v4/balances,POST /user/account/api-key',
        SERVICE_ALLOW_API_KEY_CREATION: 'true',
        SERVICE_API_KEY_RECIPIENT: recipientPair('EC').env,
      }),
    });
    await connectSubject('user-42');
    const res = await request(h.built.app).post('/v1/subjects/user-42/xt/user/account/api-key').set(bearer());
    expect(res.status).toBe(200);
    // Sealed to the recipient (service-api-key-seal.test.ts has the rest).
    const { secret } = await openSealed(
      (res.body as { result: { secretKey: string } }).result.secretKey,
      recipientPair('EC'),
    );
    expect(secret).toMatch(/^[0-9a-f]{48}$/);
    expect(
      (await request(h.built.app).post('/v1/subjects/user-42/xt/user/account/api-key.json').set(bearer())).status,
    ).toBe(403);
    // The browser gateway still never reaches it.
    expect((await h.agent.post('/api/xt/user/account/api-key').set('X-CSRF-Token', 'x')).status).toBe(403);
  });
});

describe('two replicas on Redis', () => {
  let redis: RedisServer;
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());
  afterEach(async () => {
    await a?.close();
    await b?.close();
  });

  test('give the same answers', async () => {
    const env = serviceEnv({ SESSION_STORE: 'redis', REDIS_URL: redis.url });
    a = await startHarness({ env });
    b = await startHarness({ env, standIn: a.xt });
    expect((await connectXt(a.agent, { link: await linkToken('shared-1') })).status).toBe(303);
    const viaA = await request(a.built.app).get('/v1/subjects/shared-1/connections').set(bearer()).expect(200);
    const viaB = await request(b.built.app).get('/v1/subjects/shared-1/connections').set(bearer()).expect(200);
    expect(viaB.body).toEqual(viaA.body);
    expect((viaA.body as ConnectionsJson).connected).toBe(true);
    expect((await request(b.built.app).get('/v1/subjects/shared-1/xt/spot/v4/balances').set(bearer())).status).toBe(
      200,
    );
    expect((await request(b.built.app).delete('/v1/subjects/shared-1/connections/xt').set(bearer())).status).toBe(204);
    expect(
      ((await request(a.built.app).get('/v1/subjects/shared-1/connections').set(bearer())).body as ConnectionsJson)
        .connected,
    ).toBe(false);
  });
});

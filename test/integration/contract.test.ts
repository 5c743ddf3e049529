/**
 * The real app answers as its contract (api/openapi.yaml) says: every answer below goes through
 * test/helpers/contract.ts (status, content type, required headers, body schema), against the app
 * and the XT.COM stand-in over real HTTP. The service API (a subject not connected and connected,
 * XT.COM through it, its refusals, the ends, 401, 400, 404, 409, 429), /api/session, /api/xt (XT.COM's
 * answers and our error envelope), the login with a link token, the webhooks it sends, and
 * /v1/openapi.json itself: public, cacheable, and free of every secret the app was given.
 */
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';
import { expectContract, validateWebhook } from '../helpers/contract.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const KEY = 'contract-key-0123456789abcdef0123456789';
const FAST = { firstRetryMs: 50, pollMs: 50 };
type Method = 'get' | 'post' | 'delete' | 'put' | 'head';

let h: Harness;
let hooks: WebhookReceiver;
beforeAll(async () => {
  hooks = await startReceiver();
  h = await startHarness({
    env: linkEnv({ SERVICE_API_KEYS: `backend:${KEY}`, WEBHOOK_URL: hooks.url, WEBHOOK_SECRET: hooks.secret }),
    app: { webhookTiming: FAST },
  });
});
afterAll(async () => {
  await h?.close();
  await hooks?.close();
});

/**
 * `method url` on the app (or on `agent`, which keeps its cookies), with the service key unless
 * `key` is null, checked against the contract before the test looks at it.
 */
async function call(
  method: Method,
  url: string,
  opts: { key?: string | null; agent?: TestAgent; body?: object; headers?: Record<string, string> } = {},
) {
  let t = (opts.agent ?? request(h.built.app))[method](url);
  const key = opts.key === undefined ? (url.startsWith('/v1/') ? KEY : null) : opts.key;
  if (key !== null) t = t.set('Authorization', `Bearer ${key}`);
  for (const [name, value] of Object.entries(opts.headers ?? {})) t = t.set(name, value);
  const res = await (opts.body ? t.send(opts.body) : t);
  expectContract(res, method, url);
  return res;
}

const codeOf = (res: { body: unknown }) => (res.body as { error?: { code?: string } }).error?.code;

/** A browser of the institution's user `sub`, connected to XT.COM through a link. */
async function linkedBrowser(sub: string): Promise<TestAgent> {
  const agent = request.agent(h.built.app);
  expect((await connectXt(agent, { link: await linkToken(sub) })).status).toBe(303);
  return agent;
}

describe('the service API', () => {
  test('a subject, not connected then connected; XT.COM through it; the connection and the subject end', async () => {
    const before = await call('get', '/v1/subjects/c-1/connections');
    expect([before.status, (before.body as { connected: boolean }).connected]).toEqual([200, false]);
    await linkedBrowser('c-1');
    const after = await call('get', '/v1/subjects/c-1/connections');
    expect([after.status, (after.body as { connected: boolean }).connected]).toEqual([200, true]);

    const balances = await call('get', '/v1/subjects/c-1/xt/spot/v4/balances?currencies=usdt,btc');
    expect([balances.status, (balances.body as { rc: number }).rc]).toEqual([200, 0]);
    const refused = await call('get', '/v1/subjects/c-1/xt/spot/v4/order/no-such-order'); // XT.COM's own 400
    expect([refused.status, (refused.body as { mc: string }).mc]).toEqual([400, 'ORDER_NOT_FOUND']);
    const order = await call('post', '/v1/subjects/c-1/xt/spot/v4/order', { body: { symbol: 'btc_usdt' } });
    expect([order.status, codeOf(order)]).toEqual([403, 'not_allowed']);
    const apiKey = await call('post', '/v1/subjects/c-1/xt/user/account/api-key');
    expect([apiKey.status, codeOf(apiKey)]).toEqual([403, 'not_allowed']);

    expect((await call('delete', '/v1/subjects/c-1/connections/nope')).status).toBe(404);
    expect((await call('delete', '/v1/subjects/c-1/connections/xt')).status).toBe(204);
    expect((await call('delete', '/v1/subjects/c-1/connections/xt')).status).toBe(204);
    const put = await call('put', '/v1/subjects/c-1/xt/spot/v4/balances');
    expect([put.status, put.headers.allow]).toEqual([405, 'GET, POST, DELETE']);
    const gone = await call('get', '/v1/subjects/c-1/xt/spot/v4/balances');
    expect([gone.status, codeOf(gone)]).toEqual([409, 'not_connected']);
    expect((await call('delete', '/v1/subjects/c-1')).status).toBe(204);
  });

  test('401 without a key or with a wrong one; 400 for a malformed subject or XT.COM path', async () => {
    for (const key of [null, 'x'.repeat(40)]) {
      const res = await call('get', '/v1/subjects/c-2/connections', { key });
      expect([res.status, codeOf(res)]).toEqual([401, 'unauthorized']);
    }
    expect((await call('delete', '/v1/subjects/c-2', { key: null })).status).toBe(401);
    expect(codeOf(await call('get', '/v1/subjects/bad%20subject/connections'))).toBe('bad_request');
    expect(codeOf(await call('get', '/v1/subjects/c-2/xt/spot//balances'))).toBe('bad_request');
  });

  test('429 past SERVICE_RATE_LIMIT, with Retry-After and the same as retryAfter', async () => {
    const limited = await startHarness({ env: { SERVICE_API_KEYS: `backend:${KEY}`, SERVICE_RATE_LIMIT: '1' } });
    try {
      const url = '/v1/subjects/c-3/connections';
      const answers = await Promise.all(
        [1, 2, 3].map(() => request(limited.built.app).get(url).set('Authorization', `Bearer ${KEY}`)),
      );
      for (const res of answers) expectContract(res, 'get', url);
      const over = answers.find((r) => r.status === 429)!;
      expect((over.body as { error: { retryAfter: number } }).error.retryAfter).toBe(
        Number(over.headers['retry-after']),
      );
    } finally {
      await limited.close();
    }
  });

  test('the webhooks the app sends are as the contract documents, headers and body', async () => {
    await linkedBrowser('c-6');
    expect((await call('delete', '/v1/subjects/c-6/connections/xt')).status).toBe(204);
    const ofC6 = () => hooks.accepted.filter((a) => a.body.data.subject === 'c-6');
    await hooks.waitFor(() => ofC6().length >= 2, 10_000, 'the connection.created and .ended events of c-6');
    expect(ofC6().map((a) => [a.body.type, a.body.data.reason])).toEqual([
      ['connection.created', null],
      ['connection.ended', 'revoked_by_service'],
    ]);
    for (const a of hooks.arrivals) validateWebhook(a.raw, a.headers); // and every other event so far
  });
});

describe("the pages' API", () => {
  test('/api/session: anonymous (no form token), then connected (a form token)', async () => {
    const agent = request.agent(h.built.app);
    const anonymous = await call('get', '/api/session', { agent });
    expect(anonymous.body).toMatchObject({ connected: false, csrfToken: null });
    expect((await connectXt(agent)).status).toBe(303);
    const connected = await call('get', '/api/session', { agent });
    expect(connected.body).toMatchObject({ connected: true, provider: 'xt', csrfToken: expect.any(String) as string });
  });

  test("/api/xt: XT.COM's answer and its refusal pass through; our own errors are the /api envelope", async () => {
    const agent = await linkedBrowser('c-4');
    expect((await call('get', '/api/xt/spot/v4/balances?currencies=usdt', { agent })).status).toBe(200);
    const refused = await call('get', '/api/xt/spot/v4/order/no-such-order', { agent });
    expect([refused.status, (refused.body as { rc: number }).rc]).toEqual([400, 1]);
    const notAllowed = await call('post', '/api/xt/spot/v4/order', {
      agent,
      body: {},
      headers: { 'X-CSRF-Token': 'x' },
    });
    expect([notAllowed.status, codeOf(notAllowed)]).toEqual([403, 'not_allowed']);
    const malformed = await call('get', '/api/xt/spot/v4/balances?a[]=1', { agent });
    expect([malformed.status, codeOf(malformed)]).toEqual([400, 'bad_request']);
    expect((await call('head', '/api/xt/spot/v4/balances', { agent })).status).toBe(405);
    const anonymous = await call('get', '/api/xt/spot/v4/balances');
    expect([anonymous.status, codeOf(anonymous)]).toEqual([401, 'not_connected']);
    expect((anonymous.body as { error: { next: string } }).error.next).toBe('login');
  });
});

describe('the login', () => {
  test('with a link token: to XT.COM; with a forged one: the link page, 400', async () => {
    const login = await call('get', `/auth/xt/login?link=${await linkToken('c-5')}`);
    expect(login.status).toBe(302);
    const forged = await call('get', `/auth/xt/login?link=${await linkToken('c-5', { secret: 'y'.repeat(40) })}`);
    expect([forged.status, /data-error="link_invalid"/.test(forged.text)]).toEqual([400, true]);
  });
});

describe('the contract, served', () => {
  test('public (no key), cacheable with a strong ETag, for any origin, naming PUBLIC_URL, without a secret', async () => {
    const res = await call('get', '/v1/openapi.json', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect((res.body as { servers: unknown }).servers).toEqual([
      { url: h.config.server.publicUrl.origin, description: 'This deployment.' },
    ]);
    const secrets = h.secrets();
    expect(secrets.length).toBeGreaterThanOrEqual(5); // the XT.COM secrets, SESSION_SECRET, the link secret, the key, the webhook secret
    expect(secrets.filter((s) => s && res.text.includes(s)).map((s) => `${s.slice(0, 4)}…`)).toEqual([]);

    const again = await call('get', '/v1/openapi.json', { key: null, headers: { 'If-None-Match': res.headers.etag! } });
    expect([again.status, again.headers.etag]).toEqual([304, res.headers.etag]);
    const withKey = await call('get', '/v1/openapi.json', { key: KEY });
    expect(withKey.text).toBe(res.text);
  });

  test('served without the service API too', async () => {
    const plain = await startHarness();
    try {
      const res = await request(plain.built.app).get('/v1/openapi.json');
      expectContract(res, 'get', '/v1/openapi.json');
      expect(res.status).toBe(200);
    } finally {
      await plain.close();
    }
  });
});

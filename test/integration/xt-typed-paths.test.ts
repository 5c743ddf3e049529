/**
 * Every typed XT.COM path of the contract (api/openapi.yaml: balances, one balance, orders, open
 * orders, order history, trades; placing and cancelling) reached through the gateway, under /api
 * (the person's session) and /v1 (a service key for a linked subject), against the XT.COM
 * stand-in: the contract guard checks each answer against the concrete path's typed schema
 * (test/setup/contract.ts). In both of XT.COM's envelope shapes, and with a business refusal.
 */
import request from 'supertest';
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { ORDER, type Site, received, site } from '../helpers/xtSite.js';

const ALL = [
  'GET /spot/v4/balance',
  'GET /spot/v4/balances',
  'GET /spot/v4/order',
  'GET /spot/v4/order/*',
  'GET /spot/v4/open-order',
  'GET /spot/v4/history-order',
  'GET /spot/v4/trade',
  'POST /spot/v4/order',
  'DELETE /spot/v4/order/*',
].join(',');
const MARKET = { ...ORDER, type: 'MARKET', timeInForce: 'FOK', price: undefined, clientOrderId: 'typed_paths_1' };
type Body = { rc?: number; returnCode?: number; mc?: string; result: Record<string, unknown> & unknown[] };

describe('/api/xt: the typed paths', () => {
  let s: Site;
  beforeAll(async () => {
    s = await site({ XT_API_ALLOW: ALL });
  });
  afterAll(() => s.stop());
  /** A GET; a 429 from the per-person guard (XT.COM's per-user limits) is waited out as its Retry-After says, at most 3 times. */
  const get = async (target: string) => {
    let r = await s.req('GET', target);
    for (let i = 0; i < 3 && r.status === 429; i++) {
      await new Promise((done) => setTimeout(done, Number(r.headers['retry-after'] ?? 1) * 1000));
      r = await s.req('GET', target);
    }
    return [r.status, r.json() as Body] as const;
  };

  test('place, read, list and cancel, each answer as the concrete path types it', async () => {
    const before = received(s).length;
    const placed = await s.write('POST', '/api/xt/spot/v4/order', MARKET);
    expect(placed.status).toBe(200);
    const filled = String((placed.json() as Body).result.orderId);
    const limit = String(((await s.write('POST', '/api/xt/spot/v4/order', ORDER)).json() as Body).result.orderId);

    const [, balances] = await get('/api/xt/spot/v4/balances?currencies=usdt,btc');
    expect((balances.result.assets as unknown[]).length).toBe(2);
    expect((await get('/api/xt/spot/v4/balance?currency=usdt'))[1].result.currency).toBe('usdt');
    expect((await get(`/api/xt/spot/v4/order/${filled}`))[1].result.state).toBe('FILLED');
    expect((await get('/api/xt/spot/v4/order?clientOrderId=typed_paths_1'))[1].result.orderId).toBe(filled);
    expect((await get('/api/xt/spot/v4/open-order'))[1].result.map((o) => (o as Body['result']).orderId)).toContain(
      limit,
    );
    const [, history] = await get('/api/xt/spot/v4/history-order?symbol=btc_usdt');
    expect((history.result.items as { orderId: string }[]).map((o) => o.orderId)).toContain(filled);
    const [, trades] = await get('/api/xt/spot/v4/trade?symbol=btc_usdt');
    expect((trades.result.items as { orderId: string }[]).map((t) => t.orderId)).toContain(filled);
    const cancelled = await s.write('DELETE', `/api/xt/spot/v4/order/${limit}`);
    expect([cancelled.status, (cancelled.json() as Body).result.cancelId]).toEqual([200, limit]);
    expect(received(s).length - before).toBe(10);
  });

  test("XT.COM's business refusal and its other envelope pass as the same paths document them", async () => {
    const [status, refused] = await get('/api/xt/spot/v4/balance?currency=nope');
    expect([status, refused.mc]).toEqual([400, 'CURRENCY_NOT_FOUND']);
    expect((await get('/api/xt/spot/v4/order/404'))[1].mc).toBe('ORDER_NOT_FOUND');
    s.h.xt.options.envelopeShape = 'returnCode';
    try {
      const [, balances] = await get('/api/xt/spot/v4/balances');
      expect([balances.returnCode, (balances.result.assets as unknown[]).length]).toEqual([0, 3]);
      expect((await get('/api/xt/spot/v4/trade'))[1].returnCode).toBe(0);
      expect((await get('/api/xt/spot/v4/order/404'))[1].returnCode).toBe(1);
    } finally {
      s.h.xt.options.envelopeShape = 'rc';
    }
  });
});

describe('/v1/subjects/{sub}/xt: the typed paths', () => {
  const KEY = 'typed-paths-key-0123456789abcdef01234567';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: linkEnv({ SERVICE_API_KEYS: `backend:${KEY}`, SERVICE_XT_API_ALLOW: ALL }) });
    expect((await connectXt(request.agent(h.built.app), { link: await linkToken('typed-1') })).status).toBe(303);
  });
  afterAll(() => h?.close());
  const call = async (method: 'get' | 'post' | 'delete', xtPath: string, body?: object) => {
    const t = request(h.built.app)[method](`/v1/subjects/typed-1/xt/${xtPath}`).set('Authorization', `Bearer ${KEY}`);
    const r = await (body ? t.send(body) : t);
    return [r.status, r.body as Body] as const;
  };

  test('place, read, list and cancel for the subject', async () => {
    const [placedStatus, placed] = await call('post', 'spot/v4/order', MARKET);
    expect([placedStatus, placed.rc]).toEqual([200, 0]);
    const filled = String(placed.result.orderId);
    const limit = String((await call('post', 'spot/v4/order', ORDER))[1].result.orderId);
    expect((await call('get', 'spot/v4/balances'))[1].rc).toBe(0);
    expect((await call('get', 'spot/v4/balance?currency=btc'))[1].result.currency).toBe('btc');
    expect((await call('get', `spot/v4/order/${filled}`))[1].result.orderId).toBe(filled);
    expect((await call('get', `spot/v4/order?orderId=${limit}`))[1].result.orderId).toBe(limit);
    expect((await call('get', 'spot/v4/open-order'))[1].result).toHaveLength(3); // the stand-in's two, and ours
    expect((await call('get', 'spot/v4/history-order'))[1].result.items).toHaveLength(1);
    expect((await call('get', 'spot/v4/trade'))[1].result.items).toHaveLength(1);
    expect((await call('delete', `spot/v4/order/${limit}`))[1].result.cancelId).toBe(limit);
    const [status, refused] = await call('delete', `spot/v4/order/${limit}`); // already cancelled
    expect([status, refused.mc]).toEqual([400, 'ORDER_NOT_FOUND']);
  });
});

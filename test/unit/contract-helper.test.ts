/**
 * The contract helper (test/helpers/contract.ts) catches drift: a field the schema lacks, a missing
 * required field, an undocumented status, another content type, a missing required header, a
 * path the contract does not have, and the same for webhook events. Answers made up here, so each
 * check is seen to fail for the reason it names.
 */
import {
  contractProblems,
  expectContract,
  moreSpecific,
  operationFor,
  validateWebhook,
  webhookProblems,
} from '../helpers/contract.js';

const REQUEST_ID = '6f1c2a9e-53b4-4c0d-9a51-2f8e8f0c1d2b';
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
  const all: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-request-id': REQUEST_ID,
    ...headers,
  };
  return { status, headers: all, text: JSON.stringify(body) };
};
const unauthorized = (error: Record<string, unknown> = {}) =>
  json(
    401,
    {
      error: {
        code: 'unauthorized',
        message: 'A valid bearer service key is required.',
        requestId: REQUEST_ID,
        ...error,
      },
    },
    { 'www-authenticate': 'Bearer realm="xt-connect"' },
  );
const CONNECTIONS = '/v1/subjects/42/connections';
const notConnected = {
  subject: '42',
  connected: false,
  providers: {
    xt: {
      connected: false,
      userId: null,
      scope: null,
      accessTokenExpiresAt: null,
      refreshTokenExpiresAt: null,
      lastRefreshedAt: null,
      reason: 'not_connected',
    },
  },
};

describe('answers', () => {
  test('a conforming answer passes', () => {
    expect(() => expectContract(unauthorized(), 'GET', CONNECTIONS)).not.toThrow();
    expect(() => expectContract(json(200, notConnected), 'GET', `${CONNECTIONS}?x=1`)).not.toThrow();
  });

  test('a field the schema lacks fails, at any depth', () => {
    expect(() => expectContract(unauthorized({ next: 'home' }), 'GET', CONNECTIONS)).toThrow(
      /must NOT have additional properties/,
    );
    const extra = { ...notConnected, providers: { xt: { ...notConnected.providers.xt, token: 'x' } } };
    expect(contractProblems(json(200, extra), 'GET', CONNECTIONS).join()).toMatch(/providers\/xt .*additional/);
    expect(contractProblems(json(200, { ...notConnected, more: 1 }), 'GET', CONNECTIONS)).not.toEqual([]);
  });

  test('a missing required field fails, and so does a wrong value', () => {
    const withoutId = { code: 'unauthorized', message: 'A valid bearer service key is required.' };
    const challenge = { 'www-authenticate': 'Bearer realm="xt-connect"' };
    expect(() => expectContract(json(401, { error: withoutId }, challenge), 'GET', CONNECTIONS)).toThrow(
      /must have required property 'requestId'/,
    );
    const { lastRefreshedAt: _also, ...partial } = notConnected.providers.xt;
    expect(
      contractProblems(json(200, { ...notConnected, providers: { xt: partial } }), 'GET', CONNECTIONS),
    ).not.toEqual([]);
    expect(contractProblems(unauthorized({ code: 'not_found' }), 'GET', CONNECTIONS).join()).toMatch(/const/);
  });

  test('an undocumented status fails, and so do another content type and a missing required header', () => {
    expect(() => expectContract(json(418, {}), 'GET', CONNECTIONS)).toThrow(/status 418 is not documented/);
    expect(() => expectContract(json(409, {}), 'DELETE', '/v1/subjects/42')).toThrow(/status 409 is not documented/);
    const html = { ...unauthorized(), headers: { ...unauthorized().headers, 'content-type': 'text/html' } };
    expect(() => expectContract(html, 'GET', CONNECTIONS)).toThrow(/content type "text\/html" is not documented/);
    const { 'www-authenticate': _w, ...noChallenge } = unauthorized().headers;
    expect(() => expectContract({ ...unauthorized(), headers: noChallenge }, 'GET', CONNECTIONS)).toThrow(
      /required header WWW-Authenticate is missing/,
    );
    const cached = { ...unauthorized(), headers: { ...unauthorized().headers, 'cache-control': 'max-age=60' } };
    expect(() => expectContract(cached, 'GET', CONNECTIONS)).toThrow(/header Cache-Control/);
    expect(() =>
      expectContract(
        { status: 204, headers: { 'x-request-id': REQUEST_ID, 'cache-control': 'no-store' }, text: 'x' },
        'DELETE',
        '/v1/subjects/42',
      ),
    ).toThrow(/documents none/);
  });

  test('a path or method the contract does not have: under /v1 and /api only the x-unrouted 404 (and 401), elsewhere nothing', () => {
    expect(() => expectContract(json(200, {}), 'GET', '/v1/nowhere')).toThrow(
      /status 200 is not documented for GET x-unrouted \/v1/,
    );
    expect(() => expectContract(json(200, {}), 'PUT', CONNECTIONS)).toThrow(/status 200 is not documented for PUT/);
    const notFound = (body: object) => json(404, body);
    const v1 = { error: { code: 'not_found', message: 'No such route.', requestId: REQUEST_ID } };
    expect(contractProblems(notFound(v1), 'GET', '/v1/nowhere')).toEqual([]);
    expect(contractProblems(notFound(v1), 'POST', CONNECTIONS)).toEqual([]);
    expect(contractProblems(notFound({ error: { ...v1.error, code: 'bad_request' } }), 'GET', '/v1/x')).not.toEqual([]);
    const api = { error: { ...v1.error, next: 'home' } };
    expect(contractProblems(notFound(api), 'GET', '/api/nowhere')).toEqual([]);
    expect(contractProblems(notFound(v1), 'GET', '/api/nowhere')).not.toEqual([]); // the /api envelope has `next`
    expect(() => operationFor('GET', '/nowhere')).toThrow(/no operation for GET \/nowhere/);
  });

  test('templates: one segment per parameter, the rest of the path for x-multi-segment, concrete paths first', () => {
    expect(operationFor('GET', '/v1/subjects/a/b/connections').template).toBe('x-unrouted /v1'); // {sub} is one segment
    expect(operationFor('GET', '/v1/subjects/42/xt/spot/v4/batch-order?orderIds=1,2').template).toBe(
      '/v1/subjects/{sub}/xt/{path}',
    );
    expect(operationFor('POST', '/v1/subjects/42/xt/user/account/api-key').template).toBe(
      '/v1/subjects/{sub}/xt/user/account/api-key',
    );
    expect(operationFor('GET', '/API/Session').template).toBe('/api/session');
    // Methods without an operation: the path's x-other-methods (a 405), else HEAD is GET's.
    expect(Object.keys(operationFor('PUT', '/v1/subjects/42/xt/spot/v4/balances').op.responses as object)).toContain(
      '405',
    );
    expect(Object.keys(operationFor('HEAD', '/api/xt/spot/v4/balances').op.responses as object)).toEqual([
      '405',
      '500',
      '503',
    ]);
    expect(operationFor('HEAD', '/v1/openapi.json').op.operationId).toBe('getOpenApiDocument');
    expect(operationFor('DELETE', '/v1/subjects/a/b').template).toBe('x-unrouted /v1');
    expect(operationFor('GET', '/api/xt/').template).toBe('/api/xt/{path}'); // an empty XT.COM path: the route's 400
  });

  test('a concrete XT.COM path wins over …/xt/{path} for the methods it types; other methods fall through to it', () => {
    const get = (url: string) => operationFor('GET', url).template;
    expect(get('/v1/subjects/42/xt/spot/v4/balances?currencies=usdt')).toBe('/v1/subjects/{sub}/xt/spot/v4/balances');
    expect(get('/api/xt/spot/v4/balances')).toBe('/api/xt/spot/v4/balances');
    expect(get('/api/xt/SPOT/v4/Balances')).toBe('/api/xt/spot/v4/balances'); // literal segments in any case
    expect(get('/api/xt/spot/v4/order/123')).toBe('/api/xt/spot/v4/order/{orderId}');
    expect(get('/api/xt/spot/v4/order/123/x')).toBe('/api/xt/{path}'); // {orderId} is one segment
    expect(get('/api/xt/spot/v4/order?orderId=1')).toBe('/api/xt/spot/v4/order');
    expect(operationFor('DELETE', '/v1/subjects/42/xt/spot/v4/order/1').op.operationId).toBe(
      'deleteSubjectXtCancelOrder',
    );
    expect(operationFor('POST', '/api/xt/spot/v4/order').op.operationId).toBe('postXtPlaceOrder');
    // Not typed there: the generic operation, and for other methods the generic path's 405.
    expect(operationFor('POST', '/api/xt/spot/v4/balances').op.operationId).toBe('postXt');
    expect(operationFor('DELETE', '/api/xt/spot/v4/open-order').op.operationId).toBe('deleteXt');
    expect(Object.keys(operationFor('HEAD', '/api/xt/spot/v4/order/1').op.responses as object)).toContain('405');
    expect(Object.keys(operationFor('PUT', '/v1/subjects/42/xt/spot/v4/trade').op.responses as object)).toContain(
      '405',
    );
  });

  test('segment by segment from the left: a literal beats a {param}, which beats a multi-segment one', () => {
    const multi = { parameters: [{ $ref: '#/components/parameters/XtPath' }] };
    expect(moreSpecific('/a/b/{y}', {}, '/a/{x}/c', {})).toBeLessThan(0);
    expect(moreSpecific('/a/{x}/c', {}, '/a/b/{y}', {})).toBeGreaterThan(0);
    expect(moreSpecific('/a/{x}/{y}', {}, '/a/{path}', multi)).toBeLessThan(0);
    expect(moreSpecific('/a/{path}', multi, '/a/{x}', {})).toBeGreaterThan(0);
    expect(moreSpecific('/a/b/c', {}, '/a/b/{x}', {})).toBeLessThan(0);
  });

  test('a typed XT.COM answer: the result must fit its schema; a refusal is untyped; extra fields pass', () => {
    const balances = '/api/xt/spot/v4/balances';
    const asset = { currency: 'usdt', availableAmount: '1.5', totalAmount: 2, surplus: 'XT.COM adds fields' };
    const ok = (result: unknown) => json(200, { rc: 0, mc: 'SUCCESS', ma: [], result });
    expect(contractProblems(ok({ totalBtcAmount: '0.1', assets: [asset] }), 'GET', balances)).toEqual([]);
    expect(contractProblems(ok({ totalBtcAmount: '0.1' }), 'GET', balances)).not.toEqual([]); // no assets
    expect(contractProblems(ok({ assets: [{ ...asset, totalAmount: true }] }), 'GET', balances)).not.toEqual([]);
    expect(contractProblems(json(200, { rc: 1, mc: 'X', ma: [], result: null }), 'GET', balances)).toEqual([]);
    const order = '/v1/subjects/42/xt/spot/v4/order/1';
    expect(contractProblems(ok({ orderId: '1', side: 'BUY', time: '1718199462251' }), 'GET', order)).toEqual([]);
    expect(contractProblems(ok({ orderId: '1', side: 'LONG' }), 'GET', order)).not.toEqual([]);
    expect(contractProblems(ok({ x: 1 }), 'GET', order)).not.toEqual([]); // no orderId
  });

  test('an XT.COM answer passes through as XT.COM gave it; our error and theirs are told apart', () => {
    const xt = '/v1/subjects/42/xt/spot/v4/batch-order'; // no concrete path: XtAnswer, `result` untyped
    expect(contractProblems(json(200, { rc: 0, mc: 'SUCCESS', ma: [], result: { x: 1 } }), 'GET', xt)).toEqual([]);
    expect(contractProblems(json(404, { rc: 1, mc: 'ORDER_NOT_FOUND', ma: [], result: null }), 'GET', xt)).toEqual([]);
    expect(contractProblems(json(422, { returnCode: 1, msgInfo: 'failure', error: { code: 'X' } }), 'GET', xt)).toEqual(
      [],
    );
    expect(contractProblems(json(200, { rc: 0, mc: 'AUTH_105' }), 'GET', xt)).not.toEqual([]); // never passed on
    expect(contractProblems(json(422, { rc: 0, result: null }), 'GET', xt)).not.toEqual([]); // rc 0 is never a 4xx
    expect(contractProblems(json(200, { rc: 0, returnCode: 0 }), 'GET', xt)).not.toEqual([]); // both shapes at once
  });
});

describe('webhooks', () => {
  const created = {
    type: 'connection.created',
    timestamp: '2026-11-30T08:00:00.000Z',
    data: {
      connectionId: 'conn_q9Xc2m4RkVbT7wNpL0aZ3e',
      subject: '42',
      provider: 'xt',
      userId: '12345678',
      scope: 'userinfo',
      reason: null,
    },
  };
  const headers = {
    'webhook-id': 'msg_AAAAAAAAAAAAAAAAAAAAAA',
    'webhook-timestamp': '1796025600',
    'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
    'user-agent': 'xt-connect-webhooks',
  };

  test('a documented event passes, raw or parsed, with its headers', () => {
    expect(() => validateWebhook(created, headers)).not.toThrow();
    expect(() =>
      validateWebhook(
        JSON.stringify({ ...created, type: 'connection.ended', data: { ...created.data, reason: 'disconnected' } }),
      ),
    ).not.toThrow();
  });

  test('an extra field, a missing field, a wrong reason, an unknown type or a bad header fails', () => {
    expect(webhookProblems({ ...created, id: 'msg_x' }).join()).toMatch(/additional properties/);
    const { userId: _u, ...noUser } = created.data;
    expect(webhookProblems({ ...created, data: noUser }).join()).toMatch(/required property 'userId'/);
    expect(webhookProblems({ ...created, data: { ...created.data, reason: 'disconnected' } })).not.toEqual([]);
    expect(webhookProblems({ ...created, type: 'connection.ended' })).not.toEqual([]); // ended needs a reason
    expect(() => validateWebhook({ ...created, type: 'connection.updated' })).toThrow(
      /no webhook "connection.updated"/,
    );
    expect(webhookProblems(created, { ...headers, 'webhook-id': 'evt_1' }).join()).toMatch(/header webhook-id/);
    const { 'webhook-signature': _s, ...unsigned } = headers;
    expect(webhookProblems(created, unsigned).join()).toMatch(/webhook-signature is missing/);
  });
});

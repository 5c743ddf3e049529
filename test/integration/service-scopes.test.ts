/**
 * Scopes per service key (SERVICE_API_KEYS entries `name:key:scope+scope…`): each scope opens
 * exactly its /v1 routes, every other call is a 403 `scope_missing` naming the scope it lacked,
 * refused before the route does anything (no XT.COM call, nothing ended), with an audit line that
 * names the key and the scope and never the key itself. A key written without scopes keeps every
 * route. Real HTTP against the app and the XT.COM stand-in; every answer is checked against the
 * contract (api/openapi.yaml).
 */
import fc from 'fast-check';
import request from 'supertest';
import { SERVICE_SCOPES, type ServiceScope } from '../../src/config/integration.js';
import { expectContract, operationFor } from '../helpers/contract.js';
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { recipientPair } from '../helpers/apiKeyRecipient.js';

/** One key for every non-empty set of scopes (bit i of the mask: SERVICE_SCOPES[i]), and one without scopes. */
const MASKS = Array.from({ length: 2 ** SERVICE_SCOPES.length - 1 }, (_, i) => i + 1);
const scopesOf = (mask: number) => SERVICE_SCOPES.filter((_, i) => mask & (1 << i));
const keyOf = (mask: number) => `scoped-key-${mask}-0123456789abcdef0123456789`;
const LEGACY_KEY = 'legacy-key-0123456789abcdef0123456789';
const KEYS = [...MASKS.map((m) => `k${m}:${keyOf(m)}:${scopesOf(m).join('+')}`), `legacy:${LEGACY_KEY}`].join(',');
const ONLY = (scope: ServiceScope) => 1 << SERVICE_SCOPES.indexOf(scope);

const ALLOW = 'GET /spot/v4/balances,POST /spot/v4/order,DELETE /spot/v4/order/*,POST /user/account/api-key';
const env = (extra: Record<string, string> = {}) =>
  linkEnv({
    SERVICE_API_KEYS: KEYS,
    SERVICE_XT_API_ALLOW: ALLOW,
    SERVICE_ALLOW_API_KEY_CREATION: 'true',
    SERVICE_API_KEY_RECIPIENT: recipientPair('EC').env,
    ...extra,
  });

type Method = 'get' | 'post' | 'delete';
interface Route {
  method: Method;
  /** After /v1/subjects/{sub}. */
  path: string;
  scope: ServiceScope;
  body?: object;
}

/** Every /v1 route of a subject, with the scope the contract's x-required-scope names for it. */
const ROUTES: Route[] = [
  { method: 'get', path: '/connections', scope: 'read' },
  { method: 'delete', path: '/connections/xt', scope: 'disconnect' },
  { method: 'delete', path: '', scope: 'disconnect' },
  { method: 'get', path: '/xt/spot/v4/balances', scope: 'xt.read' },
  { method: 'post', path: '/xt/spot/v4/order', scope: 'xt.write', body: { symbol: 'btc_usdt', side: 'BUY' } },
  { method: 'delete', path: '/xt/spot/v4/order/123', scope: 'xt.write' },
  { method: 'post', path: '/xt/user/account/api-key', scope: 'api-key' },
];

/** Shapes of the api-key path the allow-list refuses, and other methods on it: still each one's scope first. */
const LOOKALIKES: Route[] = [
  { method: 'post', path: '/xt/USER/account/api-key', scope: 'api-key' },
  { method: 'post', path: '/xt/user/account/api-key.json', scope: 'api-key' },
  { method: 'get', path: '/xt/user/account/api-key', scope: 'xt.read' },
  { method: 'delete', path: '/xt/user/account/api-key', scope: 'xt.write' },
];

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: env() });
});
afterAll(() => h?.close());

/** `route` for subject `sub` with `key`, checked against the contract before the test looks at it. */
async function call(route: Route, sub: string, key: string) {
  const url = `/v1/subjects/${sub}${route.path}`;
  const t = request(h.built.app)[route.method](url).set('Authorization', `Bearer ${key}`);
  const res = await (route.body ? t.send(route.body) : t);
  expectContract(res, route.method, url);
  return res;
}

const errorOf = (res: { body: unknown }) => (res.body as { error?: { code?: string; scope?: string } }).error;

const refusals = () =>
  h.logs.records().filter((r) => r.audit === true && r.event === 'scope_refused') as {
    serviceKey?: string;
    reason?: string;
  }[];

/** What an allowed call answers for a subject that is not connected (the route ran: no scope refusal). */
const ANSWER_NOT_CONNECTED: Record<ServiceScope, number> = {
  read: 200,
  disconnect: 204,
  'xt.read': 409,
  'xt.write': 409,
  'api-key': 409,
  webhooks: 200, // not a subject route: none of ROUTES needs it (see webhooks-operations.test.ts)
  'webhooks.replay': 202, // nor this one (see webhooks-replay.test.ts)
};

describe('each scope opens exactly its routes', () => {
  test('the scope of each route here is the one the contract names (x-required-scope and security)', () => {
    for (const route of [...ROUTES, ...LOOKALIKES.filter((r) => r.method !== 'post')]) {
      const { op } = operationFor(route.method, `/v1/subjects/s${route.path}`);
      expect([route.path, op['x-required-scope'], op.security]).toEqual([
        route.path,
        route.scope,
        [{ serviceKey: [route.scope] }],
      ]);
    }
  });

  const cases = SERVICE_SCOPES.flatMap((scope) => ROUTES.map((route) => [scope, route] as const));
  test.each(cases)('a key with only %s: %j', async (scope, route) => {
    const res = await call(route, 'table-1', keyOf(ONLY(scope)));
    if (route.scope === scope) {
      expect(res.status).toBe(ANSWER_NOT_CONNECTED[scope]);
      expect(errorOf(res)?.code).not.toBe('scope_missing');
    } else {
      expect(res.status).toBe(403);
      expect(errorOf(res)).toMatchObject({ code: 'scope_missing', scope: route.scope });
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  test('a key written without scopes keeps every route, as before scopes (upgrade)', async () => {
    for (const route of ROUTES) {
      const res = await call(route, 'legacy-1', LEGACY_KEY);
      expect([route.path, res.status]).toEqual([route.path, ANSWER_NOT_CONNECTED[route.scope]]);
    }
    const connected = request.agent(h.built.app);
    expect((await connectXt(connected, { link: await linkToken('legacy-2') })).status).toBe(303);
    const balances = await call(ROUTES[3]!, 'legacy-2', LEGACY_KEY);
    expect(balances.status).toBe(200);
  });

  test('the scope is checked before the subject: a malformed subject outside the scope is still scope_missing', async () => {
    const res = await call(ROUTES[0]!, 'bad%20subject', keyOf(ONLY('xt.read')));
    expect([res.status, errorOf(res)?.code]).toEqual([403, 'scope_missing']);
    const inScope = await call(ROUTES[0]!, 'bad%20subject', keyOf(ONLY('read')));
    expect([inScope.status, errorOf(inScope)?.code]).toEqual([400, 'bad_request']);
  });
});

describe('the refusal', () => {
  test('its audit line names the key and the missing scope, never the key itself', async () => {
    const before = refusals().length;
    const res = await call(ROUTES[4]!, 'audit-1', keyOf(ONLY('read') | ONLY('xt.read')));
    expect(res.status).toBe(403);
    const lines = refusals().slice(before);
    expect(lines).toEqual([expect.objectContaining({ serviceKey: 'k3', reason: 'xt.write' })]);
    const call403 = h.logs
      .records()
      .filter((r) => r.audit === true && r.event === 'service_call' && r.status === 403)
      .at(-1);
    expect(call403).toMatchObject({ serviceKey: 'k3', route: 'subject_xt', method: 'POST' });
    expect(h.logs.text()).not.toContain(keyOf(3));
  });

  test('nothing happens: no XT.COM call, the connection stays', async () => {
    const agent = request.agent(h.built.app);
    expect((await connectXt(agent, { link: await linkToken('kept-1') })).status).toBe(303);
    const apiCalls = h.xt.apiLog().length;
    const outside = keyOf(ONLY('read'));
    for (const route of ROUTES.slice(1)) expect((await call(route, 'kept-1', outside)).status).toBe(403);
    expect(h.xt.apiLog().length).toBe(apiCalls);
    const status = await call(ROUTES[0]!, 'kept-1', outside);
    expect((status.body as { connected: boolean }).connected).toBe(true);
  });
});

describe('creating an XT.COM API key', () => {
  const API_KEY = ROUTES[6]!;

  test('needs the api-key scope (xt.write is not enough), and then reaches XT.COM', async () => {
    const agent = request.agent(h.built.app);
    expect((await connectXt(agent, { link: await linkToken('ak-1') })).status).toBe(303);
    const writer = await call(API_KEY, 'ak-1', keyOf(ONLY('xt.write') | ONLY('xt.read')));
    expect(errorOf(writer)).toMatchObject({ code: 'scope_missing', scope: 'api-key' });
    const apiCalls = h.xt.apiLog().length;
    const creator = await call(API_KEY, 'ak-1', keyOf(ONLY('api-key')));
    expect(creator.status).toBe(200);
    expect(h.xt.apiLog().length).toBe(apiCalls + 1);
  });

  test('with the scope, still needs SERVICE_ALLOW_API_KEY_CREATION and the allow-list', async () => {
    // Without the opt-in the allow-list cannot list it (the app would not start: see service-api.test.ts).
    const off = await startHarness({
      env: env({ SERVICE_XT_API_ALLOW: 'GET /spot/v4/balances', SERVICE_ALLOW_API_KEY_CREATION: 'false' }),
    });
    try {
      const url = `/v1/subjects/ak-2${API_KEY.path}`;
      for (const key of [keyOf(ONLY('api-key')), LEGACY_KEY]) {
        const res = await request(off.built.app).post(url).set('Authorization', `Bearer ${key}`);
        expectContract(res, 'post', url);
        expect([res.status, errorOf(res)?.code]).toEqual([403, 'not_allowed']);
      }
    } finally {
      await off.close();
    }
  });
});

test('property: a key never gets past the scope check of a route outside its scopes', async () => {
  const agent = request.agent(h.built.app);
  expect((await connectXt(agent, { link: await linkToken('prop-xt') })).status).toBe(303);
  const pool = [...ROUTES, ...LOOKALIKES];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...MASKS), fc.constantFrom(...pool), async (mask, route) => {
      const held = scopesOf(mask);
      // XT.COM calls on a connected subject (so an allowed one would reach the stand-in); ends on another.
      const sub = route.path.startsWith('/xt/') ? 'prop-xt' : 'prop-other';
      const apiCalls = h.xt.apiLog().length;
      const res = await call(route, sub, keyOf(mask));
      if (held.includes(route.scope)) {
        expect(errorOf(res)?.code).not.toBe('scope_missing');
      } else {
        expect(res.status).toBe(403);
        expect(errorOf(res)).toMatchObject({ code: 'scope_missing', scope: route.scope });
        expect(h.xt.apiLog().length).toBe(apiCalls);
      }
    }),
    { numRuns: 150 },
  );
});

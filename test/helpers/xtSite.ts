/**
 * For the /api/xt tests: the app (real XtApi, real guard) against its own XT.COM stand-in,
 * listening on a loopback port, with a connected session and its form token. Requests go over a
 * raw socket (helpers/rawHttp.ts) so their targets reach the server byte for byte.
 */
import { type Harness, connectXt, startHarness } from './harness.js';
import { type RawAnswer, listen, rawRequest } from './rawHttp.js';

export const ORIGIN = 'http://127.0.0.1:3999'; // BASE_ENV's PUBLIC_URL
export const OPT_IN =
  'GET /spot/v4/balances,GET /spot/v4/open-order,GET /spot/v4/order/*,POST /spot/v4/order,DELETE /spot/v4/order/*';
export const ORDER = {
  symbol: 'btc_usdt',
  side: 'BUY',
  type: 'LIMIT',
  timeInForce: 'GTC',
  bizType: 'SPOT',
  price: '50000',
  quantity: '0.001',
};

export interface Site {
  h: Harness;
  port: number;
  cookie: string;
  csrf: string;
  stop(): Promise<void>;
  req(method: string, target: string, headers?: Record<string, string>, body?: Buffer | string): Promise<RawAnswer>;
  /** POST/DELETE as the page's script sends them: the session's token and our Origin. */
  write(method: string, target: string, body?: unknown, headers?: Record<string, string>): Promise<RawAnswer>;
}

export async function site(env: Record<string, string> = {}, connect = true): Promise<Site> {
  const h = await startHarness({ env: { XT_API_QUEUE_WAIT: '0', ...env } });
  let cookie = '';
  let csrf = '';
  if (connect) {
    const cb = await connectXt(h.agent);
    cookie = sessionCookie(cb);
    csrf = ((await h.agent.get('/api/session')).body as { csrfToken: string }).csrfToken;
  }
  const server = await listen(h.built.app);
  const req: Site['req'] = (method, target, headers = {}, body = '') =>
    rawRequest(server.port, method, target, { ...(cookie ? { Cookie: cookie } : {}), ...headers }, body);
  return {
    h,
    port: server.port,
    cookie,
    csrf,
    req,
    write: (method, target, body, headers = {}) =>
      req(
        method,
        target,
        {
          'X-CSRF-Token': csrf,
          Origin: ORIGIN,
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
        body === undefined ? '' : JSON.stringify(body),
      ),
    async stop() {
      await server.close();
      await h.close();
    },
  };
}

export const received = (s: Site) => s.h.xt.apiLog();

/** The session cookie (`name=value`) a response sets. */
export function sessionCookie(res: { headers: Record<string, string | string[] | undefined> }): string {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('xtc.sid='));
  if (!set) throw new Error('no session cookie');
  return set.split(';')[0]!;
}
export const expectOwnError = (r: RawAnswer, status: number, code: string) => {
  expect({ status: r.status, code: r.json().error?.code }).toEqual({ status, code });
  expect(typeof r.json().error?.next).toBe('string');
  expect(r.headers['cache-control']).toBe('no-store');
  expect(r.headers['content-type']).toMatch(/^application\/json/);
};

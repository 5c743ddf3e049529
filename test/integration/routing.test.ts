/**
 * The middleware each request passes (app.ts): /api and /v1 run in their own groups, the page
 * locals only for pages, and the security headers come from lists helmet computed once (which list
 * each kind of answer gets: security-headers.test.ts). What leaves the process must be what it was
 * when every request passed everything: JSON errors under /api in any letter case, translated messages.
 */
import fc from 'fast-check';
import helmet, { type HelmetOptions } from 'helmet';
import { isUnder, under } from '../../src/http/dispatch.js';
import { helmetHeaders } from '../../src/http/securityHeaders.js';
import { type Harness, connectXt, sidCookie, startHarness } from '../helpers/harness.js';

let h: Harness;
const errorOf = (res: { body: unknown }) => (res.body as { error?: { code?: string; message?: string } }).error;
afterEach(async () => {
  await h?.close();
});

/** The headers helmet itself sets on a real response for these options (what the app used to run per request). */
async function helmetOnARealResponse(options: HelmetOptions): Promise<Record<string, string>> {
  const { default: express } = await import('express');
  const { default: request } = await import('supertest');
  const app = express();
  app.disable('x-powered-by');
  app.use(helmet(options));
  app.get('/', (_req, res) => void res.send('ok'));
  const res = await request(app).get('/');
  const names = helmetHeaders(options).map(([n]) => n.toLowerCase());
  return Object.fromEntries(names.map((n) => [n, String(res.headers[n])]));
}

describe('security headers, computed once', () => {
  test('the list is exactly what helmet sets on a response, for the options the app uses', async () => {
    const options = {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          formAction: ["'self'", 'https://www.xt.com'],
          frameAncestors: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'same-origin' as const },
      strictTransportSecurity: false as const,
    };
    const listed = Object.fromEntries(helmetHeaders(options).map(([n, v]) => [n.toLowerCase(), v]));
    expect(listed).toEqual(await helmetOnARealResponse(options));
    expect(Object.keys(listed).length).toBeGreaterThanOrEqual(10);
    expect(listed['strict-transport-security']).toBeUndefined();
    // With HSTS on (an https PUBLIC_URL) it is in the list too.
    expect(
      helmetHeaders({ ...options, strictTransportSecurity: undefined }).some(
        ([n]) => n === 'Strict-Transport-Security',
      ),
    ).toBe(true);
  });

  test('a directive computed per request (a nonce) is refused at start, not frozen at its first value', () => {
    const nonce = () => `'nonce-${Math.random()}'`;
    expect(() =>
      helmetHeaders({ contentSecurityPolicy: { useDefaults: false, directives: { scriptSrc: [nonce] } } }),
    ).toThrow(/per request/);
    expect(() =>
      helmetHeaders({ contentSecurityPolicy: { useDefaults: false, directives: { scriptSrc: nonce as never } } }),
    ).toThrow(/per request/);
  });
});

describe('groups by prefix', () => {
  test("under: the group runs as Express's router would run it, and only under its prefix", async () => {
    const { default: express } = await import('express');
    const { default: request } = await import('supertest');
    const app = express();
    const seen: string[] = [];
    const mark = (name: string) => (_req: unknown, _res: unknown, next: (e?: unknown) => void) => {
      seen.push(name);
      next();
    };
    app.use(
      under(
        '/g',
        mark('first'),
        (req, _res, next) => (req.query.step === 'route' ? next('route') : next()),
        (req, _res, next) => (req.query.step === 'router' ? next('router') : next()),
        (req, _res, next) => {
          if (req.query.step === 'throw') throw new Error('thrown');
          if (req.query.step === 'reject') return Promise.reject(new Error('rejected'));
          if (req.query.step === 'next') return next(new Error('passed'));
          next();
        },
        (_req, res) => void res.send('end of group'),
      ),
    );
    app.use((_req, res) => void res.send('after the group'));
    app.use(
      (err: Error, _req: unknown, res: { status: (n: number) => { send: (b: string) => void } }, _next: unknown) =>
        res.status(500).send(`error: ${err.message}`),
    );
    const get = async (path: string) => (await request(app).get(path)).text;
    expect(await get('/g')).toBe('end of group');
    expect(await get('/G/x?step=route')).toBe('end of group');
    expect(await get('/g?step=router')).toBe('after the group');
    expect(await get('/g?step=throw')).toBe('error: thrown');
    expect(await get('/g?step=reject')).toBe('error: rejected');
    expect(await get('/g?step=next')).toBe('error: passed');
    seen.length = 0;
    expect(await get('/gx')).toBe('after the group');
    expect(await get('/other')).toBe('after the group');
    expect(seen).toEqual([]);
  });

  test('isUnder: a prefix and what is under it, in any case; never a longer name', () => {
    expect(isUnder('/api', '/api')).toBe(true);
    expect(isUnder('/api/session', '/api')).toBe(true);
    expect(isUnder('/API/Session', '/api')).toBe(true);
    expect(isUnder('/apix', '/api')).toBe(false);
    expect(isUnder('/ap', '/api')).toBe(false);
    expect(isUnder('/', '/api')).toBe(false);
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const path = `/${a}/${b}`;
        // The same answer Express's own case-insensitive route matching would give for a mount at /<a>.
        const prefix = `/${a}`.toLowerCase();
        return (
          a.includes('/') ||
          isUnder(path, prefix) === (path.toLowerCase().startsWith(`${prefix}/`) || path.toLowerCase() === prefix)
        );
      }),
    );
  });

  test('/api in any letter case reaches the API, as Express routes always did; its errors are JSON', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    for (const path of ['/api/session', '/API/session', '/Api/Session']) {
      const res = await h.agent.get(path);
      expect([path, res.status, (res.body as { connected?: boolean }).connected]).toEqual([path, 200, true]);
    }
    for (const path of ['/api/nope', '/API/nope', '/api']) {
      const res = await h.agent.get(path);
      expect([path, res.status, res.type, errorOf(res)?.code]).toEqual([path, 404, 'application/json', 'not_found']);
    }
    // A name that only starts like it is a page.
    const page = await h.agent.get('/apix');
    expect([page.status, page.type]).toEqual([404, 'text/html']);
  });

  test("an API error is in the person's language (cookie, else Accept-Language) and says it varies with it", async () => {
    h = await startHarness();
    const en = await h.agent.get('/api/nope');
    const zh = await h.agent.get('/api/nope').set('Accept-Language', 'zh-CN,zh;q=0.9');
    const chosen = await h.agent.get('/api/nope').set('Accept-Language', 'en').set('Cookie', 'lang=zh-Hant');
    expect(errorOf(en)!.message).not.toEqual(errorOf(zh)!.message);
    expect(errorOf(zh)!.message).toMatch(/[\u4e00-\u9fff]/);
    expect(errorOf(chosen)!.message).toMatch(/[\u4e00-\u9fff]/);
    expect(errorOf(chosen)!.message).not.toEqual(errorOf(zh)!.message); // Traditional, not Simplified
    for (const res of [en, zh, chosen]) expect(res.headers.vary).toMatch(/Accept-Language/);
    // A page still varies with the language; the session JSON, which holds no words, does not.
    expect((await h.agent.get('/')).headers.vary).toMatch(/Accept-Language/);
    expect((await h.agent.get('/api/session')).headers.vary).not.toMatch(/Accept-Language/);
  });
});

describe('failures before the page locals', () => {
  test('/v1 itself, in any case, answers JSON with the service configured, and logs no render failure', async () => {
    h = await startHarness({ env: { SERVICE_API_KEYS: 'backend:service-key-0123456789abcdef0123' } });
    for (const path of ['/v1', '/V1', '/v1/', '/v1/nope']) {
      const res = await h.agent.get(path);
      expect([path, res.status, res.type, errorOf(res)?.code]).toEqual([path, 401, 'application/json', 'unauthorized']);
    }
    expect(h.logs.records().filter((r) => (r.level as number) >= 50)).toEqual([]);
  });

  test('without the service API, /v1 is an ordinary page 404, rendered with the page locals', async () => {
    h = await startHarness();
    const res = await h.agent.get('/v1').set('Accept-Language', 'zh-TW');
    expect([res.status, res.type]).toEqual([404, 'text/html']);
    expect(res.text).toMatch(/<html lang="zh-Hant/);
    expect(h.logs.records().filter((r) => (r.level as number) >= 50)).toEqual([]);
  });
});

test('a request the client abandons still leaves an access line: "request aborted", at warn', async () => {
  h = await startHarness({ xt: { apiDelayMs: 1500 } });
  const cookie = sidCookie(await connectXt(h.agent));
  const server = h.built.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as import('node:net').AddressInfo;
  const http = await import('node:http');
  const req = http.get({ host: '127.0.0.1', port, path: '/api/xt/spot/v4/balances', headers: { cookie } });
  req.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 300));
  req.destroy();
  await new Promise((r) => setTimeout(r, 1700));
  server.close();
  const line = h.logs.records().find((r) => r.msg === 'request aborted');
  expect(line).toMatchObject({ level: 40, req: { method: 'GET', url: '/api/xt/spot/v4/balances' } });
  expect(
    h.logs
      .records()
      .filter((r) => r.msg === 'request completed' && (r.req as { url?: string })?.url === '/api/xt/spot/v4/balances'),
  ).toEqual([]);
});

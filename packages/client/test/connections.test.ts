/**
 * The client against the real app: a link minted by the client connects the institution's user
 * through the XT.COM stand-in, then connections.get, list, all and end; the contract's errors
 * arrive as XtConnectError with the table's code and status.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { type XtConnect, XtConnectError } from '../src/index.js';
import { READ_KEY, type RunningApp, openLink, startApp } from './app.js';

let app: RunningApp;
let xc: XtConnect;
beforeEach(async () => {
  app = await startApp();
  xc = app.client();
});
afterEach(() => app.close());

const rejection = (p: Promise<unknown>): Promise<XtConnectError> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(XtConnectError);
      return e as XtConnectError;
    },
  );

describe('mintLinkUrl', () => {
  test("a link for the app: HS256 with its key's kid, aud the origin, a short life, a fresh jti and iat; works once", async () => {
    const url = await xc.mintLinkUrl({ sub: '42', returnTo: '/account' });
    expect(url.startsWith(`${app.baseUrl}/auth/xt/login?link=`)).toBe(true);
    const jwt = new URL(url).searchParams.get('link')!;
    // kid: the key's id as the app derives it (LINK_SECRET rotates; the app picks the key by it).
    const header = decodeProtectedHeader(jwt);
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT', kid: header.kid });
    expect(header.kid).toMatch(/^[\w-]{16}$/);
    const claims = decodeJwt(jwt);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'jti', 'returnTo', 'sub']);
    expect(claims).toMatchObject({ sub: '42', aud: app.baseUrl, returnTo: '/account' });
    expect(claims.exp! - claims.iat!).toBe(60); // a minute unless asked otherwise
    const other = decodeJwt(new URL(await xc.mintLinkUrl({ sub: '42', expiresIn: 600 })).searchParams.get('link')!);
    expect(other.jti).not.toBe(claims.jti);
    expect(other.returnTo).toBe('/account'); // always signed in: ?returnTo= cannot rewrite it
    expect(other.exp! - other.iat!).toBe(600);
    for (const expiresIn of [0, 601, 1.5, -1, Number.NaN])
      await expect(xc.mintLinkUrl({ sub: '42', expiresIn })).rejects.toThrow(TypeError);

    const done = await openLink(url);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/account');
    // Spent: the same URL again is refused before anything starts.
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(400);
  });

  test('reconnect: true is minted only when asked, and renews the same connection (same connectionId)', async () => {
    const plain = decodeJwt(new URL(await xc.mintLinkUrl({ sub: '7', reconnect: false })).searchParams.get('link')!);
    expect(plain).not.toHaveProperty('reconnect');
    expect((await openLink(await xc.mintLinkUrl({ sub: '7' }))).status).toBe(303);
    const before = await xc.connections.get('7');
    const url = await xc.mintLinkUrl({ sub: '7', reconnect: true });
    expect(decodeJwt(new URL(url).searchParams.get('link')!).reconnect).toBe(true);
    expect((await openLink(url)).status).toBe(303);
    const after = await xc.connections.get('7');
    expect(after.connected).toBe(true);
    expect(after.providers.xt!.connectionId).toBe(before.providers.xt!.connectionId);
  });

  test('a subject outside the rules, or no linkSecret, is refused before signing', async () => {
    await expect(xc.mintLinkUrl({ sub: 'not a subject' })).rejects.toThrow(TypeError);
    await expect(app.client({ linkSecret: undefined }).mintLinkUrl({ sub: '42' })).rejects.toThrow(/linkSecret/);
  });

  test('a link signed with another secret is refused by the app', async () => {
    const url = await app.client({ linkSecret: 'another-link-secret-0123456789abcdef' }).mintLinkUrl({ sub: '42' });
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(400);
  });
});

describe('connections', () => {
  test('get: an unknown subject is every provider not connected; a linked one is connected', async () => {
    const none = await xc.connections.get('nobody@example.org');
    expect(none).toEqual({
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
    expect((await openLink(await xc.mintLinkUrl({ sub: '42' }))).status).toBe(303);
    const c = await xc.connections.get('42');
    expect(c.connected).toBe(true);
    expect(c.providers.xt).toMatchObject({ connected: true, userId: '12345678', reason: null });
  });

  test('list pages with the cursor, all walks every page, end removes one', async () => {
    for (const sub of ['a1', 'a2', 'a3']) expect((await openLink(await xc.mintLinkUrl({ sub }))).status).toBe(303);
    const first = await xc.connections.list({ state: 'connected', provider: 'xt', limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await xc.connections.list({ limit: 2, cursor: first.nextCursor! });
    expect(second.data).toHaveLength(1);
    expect(second.nextCursor).toBeNull();

    const walked: string[] = [];
    for await (const item of xc.connections.all({ state: 'connected', limit: 1 })) {
      expect(item).toMatchObject({ provider: 'xt', state: 'connected', reason: null });
      walked.push(item.subject);
    }
    expect(walked.sort()).toEqual(['a1', 'a2', 'a3']);

    await expect(xc.connections.end('a2', 'xt')).resolves.toBeUndefined();
    await expect(xc.connections.end('a2', 'xt')).resolves.toBeUndefined(); // idempotent: 204 again
    expect((await xc.connections.get('a2')).connected).toBe(false);
    const left: string[] = [];
    for await (const item of xc.connections.all()) left.push(item.subject);
    expect(left.sort()).toEqual(['a1', 'a3']);
  });
});

describe('errors from the table', () => {
  test('a wrong key is 401 unauthorized, with the request id', async () => {
    const e = await rejection(app.client({ serviceKey: 'x'.repeat(40) }).connections.get('42'));
    expect(e).toMatchObject({ code: 'unauthorized', status: 401, name: 'XtConnectError' });
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.message).toBe('A valid bearer service key is required.');
  });

  test('a key without the scope is 403 scope_missing, naming the scope', async () => {
    const reader = app.client({ serviceKey: READ_KEY });
    await expect(reader.connections.get('42')).resolves.toMatchObject({ subject: '42' });
    expect(await rejection(reader.connections.end('42', 'xt'))).toMatchObject({
      code: 'scope_missing',
      status: 403,
      scope: 'disconnect',
    });
    expect(await rejection(reader.xt.get('42', '/spot/v4/balances'))).toMatchObject({
      code: 'scope_missing',
      status: 403,
      scope: 'xt.read',
    });
  });

  test('an unknown provider is 404 not_found; a malformed subject a TypeError before sending; a bad limit 400', async () => {
    expect(await rejection(xc.connections.end('42', 'nope'))).toMatchObject({ code: 'not_found', status: 404 });
    await expect(xc.connections.get('not a subject')).rejects.toThrow(TypeError); // never sent (paths.test.ts)
    expect(await rejection(xc.connections.list({ limit: 1000 }))).toMatchObject({ code: 'bad_request', status: 400 });
  });

  test('a subject that is not connected is 409 not_connected on an XT.COM call', async () => {
    expect(await rejection(xc.xt.get('nobody', '/spot/v4/balances'))).toMatchObject({
      code: 'not_connected',
      status: 409,
      provider: 'xt',
    });
  });

  test('no server is a network error (status 0)', async () => {
    const gone = app.client({ baseUrl: 'http://127.0.0.1:9', maxRetries: 0 });
    expect(await rejection(gone.connections.get('42'))).toMatchObject({ code: 'network', status: 0 });
  });
});

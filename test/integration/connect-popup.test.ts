/**
 * Popup mode of the login (the drop-in Connect button): a login opened from a page on EMBED_ORIGINS
 * remembers that origin, and the callback ends on a tiny page whose external script posts the
 * outcome to exactly that origin. The page holds nothing secret and keeps the strict CSP.
 */
import { AppError } from '../../src/errors.js';
import { type Harness, authorizeAtStandIn, connectXt, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken, unsignedLinkToken } from '../helpers/link.js';

const EMBED = 'http://127.0.0.1:5173';

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ env: linkEnv({ EMBED_ORIGINS: `${EMBED},https://www.bank.example` }) });
});
afterEach(() => h.close());

const popupLogin = (q: Record<string, string>) =>
  h.agent.get(`/auth/xt/login?${new URLSearchParams({ popup: '1', origin: EMBED, state: 'opener-1', ...q })}`);

/** The data- attributes of the popup's end page. */
function ending(html: string): Record<string, string> {
  const tag = /<section class="card calm xt-popup-done"([^>]*)>/.exec(html)?.[1] ?? '';
  return Object.fromEntries([...tag.matchAll(/data-([a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

test('approve: the callback renders the end page for the opener, with its external script and no secret', async () => {
  const login = await popupLogin({ link: await linkToken('42') });
  expect(login.status).toBe(302);
  expect(login.headers['cross-origin-opener-policy']).toBe('unsafe-none');
  const callbackPath = await authorizeAtStandIn(login.headers.location!);
  const res = await h.agent.get(callbackPath);
  expect(res.status).toBe(200);
  expect(res.headers['cross-origin-opener-policy']).toBe('unsafe-none');
  expect(ending(res.text)).toEqual({ origin: EMBED, state: 'opener-1', status: 'connected', provider: 'xt' });
  expect(res.text).toContain('<script src="/static/popup-done.js" defer></script>');
  expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
  const csp = res.headers['content-security-policy']!;
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-');
  const code = new URL(callbackPath, 'http://x').searchParams.get('code')!;
  const session = await h.agent.get('/api/session');
  expect((session.body as { connected: boolean }).connected).toBe(true);
  for (const secret of [code, ...h.secrets(), (session.body as { userId: string }).userId])
    expect(res.text.includes(secret)).toBe(false);
});

test('deny: the end page says declined to the opener', async () => {
  const login = await popupLogin({ link: await linkToken('43'), state: 'opener-2' });
  const res = await h.agent.get(await authorizeAtStandIn(login.headers.location!, 'deny'));
  expect(res.status).toBe(200);
  expect(ending(res.text)).toEqual({ origin: EMBED, state: 'opener-2', status: 'declined', provider: 'xt' });
});

test('an already connected subject: the end page at once, without a trip to the provider', async () => {
  const first = await popupLogin({ link: await linkToken('44') });
  await h.agent.get(await authorizeAtStandIn(first.headers.location!));
  const again = await popupLogin({ link: await linkToken('44'), state: 'opener-3' });
  expect(again.status).toBe(200);
  expect(ending(again.text)).toMatchObject({ origin: EMBED, state: 'opener-3', status: 'connected' });
});

test('an opener origin not in EMBED_ORIGINS, or a bad state, is refused before the link is spent', async () => {
  const link = await linkToken('45');
  const refused: Record<string, string>[] = [
    { origin: 'https://evil.example' },
    { origin: `${EMBED}/` },
    { origin: '' },
    { state: 'has space' },
    { state: 'x'.repeat(65) },
  ];
  for (const q of refused) {
    const res = await popupLogin({ link, ...q });
    expect([q, res.status]).toEqual([q, 400]);
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
  }
  expect((await h.agent.get(`/auth/xt/login?link=${link}`)).status).toBe(302); // still unspent
});

test('no page keeps a handle on our window without a genuine link: none, or a forged one, keeps COOP same-origin', async () => {
  const none = await popupLogin({});
  expect(none.status).toBe(400);
  expect(none.headers['cross-origin-opener-policy']).toBe('same-origin');
  const forged = await popupLogin({ link: `${await linkToken('46')}x` });
  expect(forged.status).toBe(400);
  expect(forged.headers['cross-origin-opener-policy']).toBe('same-origin');
});

test('without popup=1, nothing changes: the callback redirects to returnTo and keeps COOP same-origin', async () => {
  const login = await h.agent.get(`/auth/xt/login?link=${await linkToken('46')}`);
  expect(login.headers['cross-origin-opener-policy']).toBe('same-origin');
  const res = await h.agent.get(await authorizeAtStandIn(login.headers.location!));
  expect(res.status).toBe(303);
  expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
});

test('popups blocked (no popup=1): a returnTo on an EMBED_ORIGINS origin brings the person back to the page; any other origin does not', async () => {
  const back = `${EMBED}/bank/connect?done=1`;
  // The link's claim: after the login (303), and again at once while connected.
  const connected = await connectXt(h.agent, { link: await linkToken('47', { returnTo: back }) });
  expect([connected.status, connected.headers.location]).toEqual([303, back]);
  const again = await h.agent.get(`/auth/xt/login?link=${await linkToken('47', { returnTo: back })}`);
  expect([again.status, again.headers.location]).toEqual([303, back]);
  // ?returnTo= (connect.js's `returnTo`), the same rule.
  const asked = await h.agent.get(
    `/auth/xt/login?${new URLSearchParams({ link: await linkToken('47'), returnTo: 'https://www.bank.example/x' })}`,
  );
  expect(asked.headers.location).toBe('https://www.bank.example/x');
  for (const returnTo of [
    `${EMBED}@evil.example/`,
    'https://www.bank.example.evil.example/',
    'https://evil.example/',
  ]) {
    const refused = await h.agent.get(`/auth/xt/login?link=${await linkToken('47', { returnTo })}`);
    expect([returnTo, refused.headers.location]).toEqual([returnTo, '/account']);
  }
});

/** The popup data of a failed login's error page (class xt-popup-done), or {} when it has none. */
function failure(html: string): Record<string, string> {
  const tag = /<section class="card error xt-popup-done"([^>]*)>/.exec(html)?.[1] ?? '';
  return Object.fromEntries([...tag.matchAll(/data-([a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

describe('a popup login refused with a GENUINE link tells the opener (onError), on a page the person can still read', () => {
  test.each([
    ['expired', () => linkToken('50', { expIn: -120 }), 'link_expired'],
    [
      'spent',
      async () => {
        const link = await linkToken('51');
        expect((await h.agent.get(`/auth/xt/login?link=${link}`)).status).toBe(302);
        return link;
      },
      'link_expired',
    ],
    [
      'minted before its subject was ended',
      async () => {
        const link = await linkToken('56', { iatIn: -10 });
        await h.built.ctx.bindings.end(h.built.ctx.subjects.ownerOf('56'));
        return link;
      },
      'link_expired',
    ],
    [
      'signed by us but refused for a claim (exp too far ahead)',
      () => linkToken('52', { expIn: 3600 }),
      'link_invalid',
    ],
  ] as const)('%s', async (_name, make, code) => {
    const link = await make();
    const res = await popupLogin({ link, state: 'opener-9' });
    expect(res.status).toBe(400);
    expect(res.headers['cross-origin-opener-policy']).toBe('unsafe-none');
    expect(failure(res.text)).toEqual({
      error: code,
      origin: EMBED,
      state: 'opener-9',
      status: 'error',
      provider: 'xt',
    });
    expect(res.text).toContain('<script src="/static/popup-done.js" defer></script>');
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.text).toMatch(/<h1>This link (has expired|is not valid)<\/h1>/); // the way forward stays visible
    expect(res.text).not.toContain(link);
    expect(res.text).not.toContain(link.split('.')[1]!);
  });
});

test('a FORGED link (signature, alg none, audience) keeps COOP same-origin and reports nothing', async () => {
  const forged = [
    await linkToken('53', { secret: 'another-secret-that-is-long-enough-000000' }),
    unsignedLinkToken('53'),
    await linkToken('53', { aud: 'https://other.example' }),
    await linkToken('53', { aud: 'https://other.example', expIn: -120 }),
    'not-a-jwt',
  ];
  for (const link of forged) {
    const res = await popupLogin({ link });
    expect(res.status).toBe(400);
    expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(res.text).not.toContain('xt-popup-done');
    expect(res.text).not.toContain('popup-done.js');
  }
});

test('a popup login over the /auth rate limit, with a genuine link, tells the opener rate_limited; with a forged one, nothing', async () => {
  await h.close();
  h = await startHarness({ env: linkEnv({ EMBED_ORIGINS: EMBED, AUTH_RATE_LIMIT: '1' }) });
  await h.agent.get('/auth/xt/login');
  const genuine = await popupLogin({ link: await linkToken('54') });
  expect(genuine.status).toBe(429);
  expect(genuine.headers['cross-origin-opener-policy']).toBe('unsafe-none');
  expect(failure(genuine.text)).toMatchObject({ error: 'rate_limited', status: 'error', origin: EMBED });
  const forged = await popupLogin({
    link: await linkToken('54', { secret: 'another-secret-that-is-long-enough-000000' }),
  });
  expect(forged.status).toBe(429);
  expect(forged.headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(forged.text).not.toContain('xt-popup-done');
});

test('a popup login that fails after its link was accepted (the provider away) tells the opener the code', async () => {
  const xt = h.built.ctx.providers.get('xt')!;
  xt.prepareLogin = () => Promise.reject(new AppError('provider_unavailable', { provider: 'xt' }));
  const res = await popupLogin({ link: await linkToken('55'), state: 'opener-10' });
  expect(res.status).toBe(502);
  expect(res.headers['cross-origin-opener-policy']).toBe('unsafe-none');
  expect(failure(res.text)).toEqual({
    error: 'provider_unavailable',
    origin: EMBED,
    state: 'opener-10',
    status: 'error',
    provider: 'xt',
  });
});

/**
 * What the response headers and the page let leak: caching, Referer, and provider-supplied text
 * on the page. Each test fails against a naive implementation.
 */
import { type Harness, connectXt, formToken, startHarness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('headers', () => {
  test('the callback is no-store and no-referrer, even when it fails', async () => {
    h = await startHarness();
    const ok = await connectXt(h.agent);
    const bad = await h.agent.get('/auth/xt/callback?code=x&state=y');
    for (const res of [ok, bad]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect((await h.agent.get('/api/session')).headers['cache-control']).toBe('no-store');
    expect((await h.agent.get('/account')).headers['cache-control']).toBe('no-store');
  });

  test('every response that depends on the session is no-store and varies on Cookie, connected or not', async () => {
    h = await startHarness();
    const check = async (label: string, res: { headers: Record<string, string> }) => {
      const vary = (res.headers.vary ?? '').toLowerCase().split(/\s*,\s*/);
      expect({ label, cacheControl: res.headers['cache-control'], varyCookie: vary.includes('cookie') }).toEqual({
        label,
        cacheControl: 'no-store',
        varyCookie: true,
      });
    };
    const routes = async (phase: string) => {
      await check(`${phase} GET /`, await h.agent.get('/'));
      await check(`${phase} GET /account`, await h.agent.get('/account'));
      await check(`${phase} GET /api/session`, await h.agent.get('/api/session'));
      await check(`${phase} GET /auth/xt/login`, await h.agent.get('/auth/xt/login'));
      await check(`${phase} GET /auth/xt/callback (bad)`, await h.agent.get('/auth/xt/callback?code=x&state=y'));
      await check(`${phase} GET /auth/nope/login`, await h.agent.get('/auth/nope/login'));
      await check(`${phase} GET /no-such-page`, await h.agent.get('/no-such-page'));
      await check(`${phase} POST /auth/xt/logout (no token)`, await h.agent.post('/auth/xt/logout'));
    };
    await routes('anonymous');
    await check('callback', await connectXt(h.agent));
    await routes('connected');
    const token = formToken((await h.agent.get('/account')).text);
    await check('logout', await h.agent.post('/auth/xt/logout').type('form').send({ _csrf: token }));
    // Static files stay cacheable: they are the same for everyone.
    expect((await h.agent.get('/static/app.css')).headers['cache-control']).toMatch(/max-age/);
  });

  test('provider-supplied text is escaped on the page', async () => {
    h = await startHarness({ xt: { userId: '<img src=x onerror=alert(1)>' } });
    await connectXt(h.agent);
    const page = await h.agent.get('/account');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;img src=x');
  });
});

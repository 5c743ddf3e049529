/**
 * Every plain state a person can meet, read from `data-state` on <main>, and the one-time
 * confirmations (shown exactly once); the brand settings; the language menu and its cookie; what
 * the site gets, in plain words.
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { testClock } from '../helpers/clock.js';
import {
  type Harness,
  authorizeAtStandIn,
  connectXt,
  disconnectXt,
  errorCode,
  formToken,
  startHarness,
  tempDir,
} from '../helpers/harness.js';
import { connectOidc, startOidcHarness } from '../helpers/oidc.js';
import { SURFACES, accentPalette, contrast } from '../../src/routes/brand.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const stateOf = (html: string) => /<main id="main"[^>]* data-state="([^"]*)"/.exec(html)?.[1];
const notices = (html: string) => [...html.matchAll(/data-notice="([^"]+)"/g)].map((m) => m[1]);
const BRAND = { SITE_NAME: 'Example Exchange Partner', SUPPORT_URL: 'https://help.example.com/xt' };

describe('the states, each once', () => {
  test('not-connected: what the site gets, the Connect button, and registration at XT.COM', async () => {
    h = await startHarness({ env: BRAND });
    const home = await h.agent.get('/');
    expect(home.status).toBe(200);
    expect(stateOf(home.text)).toBe('not-connected');
    expect(home.text).toContain('<title>Example Exchange Partner</title>');
    expect(home.text).toContain('If you connect, Example Exchange Partner can:');
    expect(home.text).toContain('See your XT.COM user id');
    expect(home.text).toContain('See your spot balances'); // the default allow-list reads balances
    expect(home.text).not.toContain('Place and cancel orders'); // …and places no order
    expect(home.text).toContain('href="/auth/xt/login"');
    expect(home.text).toContain('No XT.COM account?');
    expect(home.text).toContain('href="https://www.xt.com/en/accounts/register?client_id=demo-client"');
    expect(home.text).not.toContain('xt-connect');
    const account = await h.agent.get('/account');
    expect(stateOf(account.text)).toBe('not-connected');
  });

  test('connected: the confirmation shows once, then the account page for people, details collapsed', async () => {
    h = await startHarness({ env: BRAND });
    const cb = await connectXt(h.agent);
    expect(cb.headers.location).toBe('/account');
    const first = await h.agent.get('/account');
    expect(stateOf(first.text)).toBe('connected');
    expect(notices(first.text)).toEqual(['connected']);
    expect(first.text).toContain('You’re connected to XT.COM.');
    expect(first.text).toMatch(/Connected as <strong class="uid">12345678<\/strong>/);
    expect(first.text).toMatch(/Since <time datetime="[^"]+" data-local="date">/);
    expect(first.text).toMatch(/Stays connected until <time/);
    expect(first.text).toMatch(/<details class="details">\s*<summary>Details<\/summary>/); // collapsed: no `open`
    expect(first.text).not.toMatch(/token|Subject/i);
    const again = await h.agent.get('/account');
    expect(stateOf(again.text)).toBe('connected');
    expect(notices(again.text)).toEqual([]);
    const home = await h.agent.get('/');
    expect(notices(home.text)).toEqual([]);
    // Connected, the home page no longer asks to connect.
    expect(home.text).toContain('<h1>Your XT.COM account is connected</h1>');
    expect(home.text).not.toContain('Connect your XT.COM account');
    expect(home.text).toContain('Example Exchange Partner uses your connection');
  });

  test('a page that does not exist is titled "Page not found", with the way home and the support link', async () => {
    h = await startHarness({ env: BRAND });
    for (const lang of ['en', 'zh-CN', 'zh-TW']) {
      const res = await h.agent.get('/no/such/page').set('Accept-Language', lang);
      expect(res.status).toBe(404);
      const heading = { en: 'Page not found', 'zh-CN': '找不到页面', 'zh-TW': '找不到頁面' }[lang];
      expect(res.text).toContain(`<h1>${heading}</h1>`);
      expect(res.text).toContain(`<title>${heading} · Example Exchange Partner</title>`);
      expect(res.text).toContain('href="https://help.example.com/xt"');
    }
  });

  test('connected with no known end: "stays connected while you use this site"', async () => {
    h = await startHarness({ xt: { omitExp: true }, env: { XT_EXPIRES_IN_UNIT: 's' } });
    h.xt.overrideNextResult((r) => {
      const { refresh_expires_in: _drop, ...rest } = r;
      return rest;
    });
    await connectXt(h.agent);
    const page = await h.agent.get('/account');
    expect(page.text).toContain('Stays connected while you use this site');
    expect(page.text).not.toContain('unknown');
  });

  test('still-connected: Back at XT.COM and Authorize again, or a replayed callback, says so once', async () => {
    h = await startHarness();
    const login = await h.agent.get('/auth/xt/login');
    const url = login.headers.location!;
    expect((await h.agent.get(await authorizeAtStandIn(url))).status).toBe(303);
    await h.agent.get('/account'); // the connect confirmation, read
    const calls = h.xt.calls.authorization_code;
    // The browser's Back button to XT.COM's page, and Authorize again: a new code for a spent state.
    const again = await h.agent.get(await authorizeAtStandIn(url));
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe('/account');
    expect(h.xt.calls.authorization_code).toBe(calls); // never exchanged
    const page = await h.agent.get('/account');
    expect(stateOf(page.text)).toBe('still-connected');
    expect(notices(page.text)).toEqual(['still-connected']);
    expect(page.text).toContain('You’re still connected to XT.COM.');
    const next = await h.agent.get('/account');
    expect(stateOf(next.text)).toBe('connected');
    expect(notices(next.text)).toEqual([]);
  });

  test('still-connected: declining a new approval keeps the connection, and says so', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    await h.agent.get('/account');
    const res = await connectXt(h.agent, { decision: 'deny' });
    expect(res.status).toBe(303);
    const page = await h.agent.get('/account');
    expect(stateOf(page.text)).toBe('still-connected');
    expect(page.text).toContain('your existing connection stays as it was');
  });

  test('declined: a neutral page with status 200 and Connect again, in the person\u2019s language', async () => {
    h = await startHarness({ env: BRAND });
    const res = await connectXt(h.agent, { decision: 'deny' });
    expect(res.status).toBe(200);
    expect(stateOf(res.text)).toBe('declined');
    expect(res.text).toContain('No connection was made');
    expect(res.text).toContain('nothing was shared with Example Exchange Partner');
    expect(res.text).toContain('href="/auth/xt/login"');
    expect(res.text).not.toMatch(/went wrong|error/i);
    const zh = await request.agent(h.built.app).get('/').set('Accept-Language', 'zh-TW');
    expect(zh.text).toContain('lang="zh-Hant"');
    const agent = request.agent(h.built.app);
    const login = await agent.get('/auth/xt/login').set('Accept-Language', 'zh-HK');
    const declined = await agent
      .get(await authorizeAtStandIn(login.headers.location!, 'deny'))
      .set('Accept-Language', 'zh-HK');
    expect(stateOf(declined.text)).toBe('declined');
    expect(declined.text).toContain('未建立連接');
  });

  test('disconnected: says what was removed, once; then not-connected', async () => {
    h = await startHarness({ env: BRAND });
    await connectXt(h.agent);
    const out = await disconnectXt(h.agent);
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/');
    const home = await h.agent.get('/');
    expect(stateOf(home.text)).toBe('disconnected');
    expect(notices(home.text)).toEqual(['disconnected']);
    expect(home.text).toContain('Example Exchange Partner deleted its access to your XT.COM account');
    expect(home.text).not.toContain('asked XT.COM to withdraw'); // XT.COM has no revocation endpoint
    const again = await h.agent.get('/');
    expect(stateOf(again.text)).toBe('not-connected');
    expect(notices(again.text)).toEqual([]);
  });

  test('disconnected from a provider that revokes: the confirmation says the access was withdrawn there too', async () => {
    // Without an end_session_endpoint (as CIAM), the confirmation is on the very next page; through
    // one, it waits for the provider's return (oidc-logout-rp-initiated.test.ts).
    const o = await startOidcHarness({ standIn: { rpInitiatedLogout: false } });
    try {
      await connectOidc(o.agent);
      const account = await o.agent.get('/account');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(account.text)![1]!;
      await o.agent.post('/auth/oidc/logout').type('form').send({ _csrf: csrf });
      expect(o.oidc.calls.revocation).toBe(1);
      const home = await o.agent.get('/');
      expect(stateOf(home.text)).toBe('disconnected');
      expect(home.text).toContain('also asked Tencent Cloud CIAM to withdraw the access');
      expect(stateOf((await o.agent.get('/')).text)).toBe('not-connected');
    } finally {
      await o.close();
    }
  });

  test('reconnect-needed: XT.COM refused the refresh, and the page says why in plain words', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    await h.agent.get('/account');
    h.xt.revokeRefreshTokens();
    h.xt.revokeAccessTokens();
    expect((await h.agent.get('/api/xt/spot/v4/balances')).status).toBe(401); // the refresh is rejected
    for (const path of ['/account', '/']) {
      const page = await h.agent.get(path);
      expect(stateOf(page.text)).toBe('reconnect-needed');
      expect(page.text).toContain('has ended');
      expect(page.text).toContain('no longer accepts this connection');
      expect(page.text).toContain('Reconnect XT.COM');
    }
    // The home page's Reconnect is the same CSRF-protected form as the account page's (a reconnect).
    const home = await h.agent.get('/');
    expect(home.text).toContain('action="/auth/xt/reconnect"');
    const started = await h.agent
      .post('/auth/xt/reconnect')
      .type('form')
      .send({ _csrf: formToken(home.text) });
    expect(started.status).toBe(303);
    expect((await h.agent.get(await authorizeAtStandIn(started.headers.location!))).status).toBe(303);
    expect(stateOf((await h.agent.get('/')).text)).toBe('connected');
    expect(h.logs.records().filter((r) => r.event === 'login_started' && r.reconnect === true)).toHaveLength(1);
  });

  test('unavailable with nothing to keep: never says "kept", in any language', async () => {
    h = await startHarness({ env: BRAND });
    for (const lang of ['en', 'zh-CN', 'zh-TW']) {
      h.xt.failNext('http500', 1, 'authorization_code');
      const agent = request.agent(h.built.app);
      const login = await agent.get('/auth/xt/login').set('Accept-Language', lang);
      const res = await agent.get(await authorizeAtStandIn(login.headers.location!)).set('Accept-Language', lang);
      expect(res.status).toBe(502);
      expect(stateOf(res.text)).toBe('unavailable');
      expect(res.text).not.toMatch(/kept|保留/);
      expect(res.text).toContain('href="https://help.example.com/xt"'); // support, on every error page
    }
  });

  test('unavailable with a connection: the account page says the connection is kept', async () => {
    const clock = testClock();
    h = await startHarness({ xt: { accessTtlSec: 600, now: clock.now }, app: { now: clock.now } });
    await connectXt(h.agent);
    clock.advance(601_000);
    h.xt.failNext('http500', 1, 'refresh_token');
    const page = await h.agent.get('/account');
    expect(page.status).toBe(503);
    expect(stateOf(page.text)).toBe('unavailable');
    expect(page.text).toContain('Your connection is kept');
  });

  test('misconfigured (XT.COM AUTH_1xx): the site\u2019s problem, with the support link', async () => {
    h = await startHarness({ env: BRAND });
    h.xt.respondNextWith({ body: JSON.stringify({ rc: 1, mc: 'AUTH_101', ma: [], result: null }) });
    const res = await connectXt(h.agent);
    expect(res.status).toBe(502);
    expect(errorCode(res.text)).toBe('provider_misconfigured');
    expect(stateOf(res.text)).toBe('misconfigured');
    expect(res.text).toContain('a problem on our side, not with your account');
    expect(res.text).toMatch(
      /<a class="text-link" href="https:\/\/help\.example\.com\/xt">Contact Example Exchange Partner support<\/a>/,
    );
    expect(res.text).toMatch(/Reference: [0-9a-f-]{36}/);
  });
});

describe('the language menu', () => {
  test('a link per language; the choice is kept in the lang cookie, overrides Accept-Language, and XT.COM follows it', async () => {
    h = await startHarness();
    const home = await h.agent.get('/account').set('Accept-Language', 'en');
    expect(home.text).toContain('href="/lang/zh-Hant?returnTo=%2Faccount"');
    expect(home.text).toMatch(
      /<a href="\/lang\/en\?returnTo=%2Faccount" lang="en" hreflang="en" aria-current="true">English<\/a>/,
    );
    const choose = await h.agent.get('/lang/zh-Hant?returnTo=%2Faccount');
    expect(choose.status).toBe(303);
    expect(choose.headers.location).toBe('/account');
    const cookie = ([] as string[]).concat(choose.headers['set-cookie'] ?? []).find((c) => c.startsWith('lang='))!;
    expect(cookie).toMatch(/^lang=zh-Hant; Max-Age=\d+; Path=\/; .*HttpOnly; SameSite=Lax/);
    const page = await h.agent.get('/').set('Accept-Language', 'en-US');
    expect(page.text).toContain('<html lang="zh-Hant">');
    expect(page.text).toContain('連接 XT.COM');
    expect(page.text).toContain('href="https://www.xt.com/zh-HK/accounts/register?client_id=demo-client"');
    const login = await h.agent.get('/auth/xt/login').set('Accept-Language', 'en-US');
    expect(new URL(login.headers.location!).pathname).toBe('/zh-HK/accounts/oauth2');
    await h.agent.get('/lang/zh-CN');
    expect((await h.agent.get('/').set('Accept-Language', 'zh-TW')).text).toContain('<html lang="zh-CN">');
  });

  test('an unknown language is a 404, and returnTo stays on this site', async () => {
    h = await startHarness();
    expect((await h.agent.get('/lang/fr')).status).toBe(404);
    expect((await h.agent.get('/lang/zh-hant')).status).toBe(404);
    for (const returnTo of ['//evil.example', 'https://evil.example/', '/\\evil.example']) {
      const res = await h.agent.get(`/lang/en?returnTo=${encodeURIComponent(returnTo)}`);
      expect(res.headers.location).toBe('/');
    }
  });

  test('a forged lang cookie is ignored', async () => {
    h = await startHarness();
    const res = await h.agent.get('/').set('Cookie', 'lang="><script>').set('Accept-Language', 'zh-CN');
    expect(res.text).toContain('<html lang="zh-CN">');
  });
});

describe('the brand', () => {
  test('name, logo from DATA_DIR, accent as a generated stylesheet, home link, support link; the CSP stays strict', async () => {
    const dir = tempDir();
    fs.writeFileSync(
      path.join(dir, 'logo.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>',
    );
    h = await startHarness({
      env: {
        ...BRAND,
        DATA_DIR: dir,
        SITE_LOGO_URL: 'logo.svg',
        SITE_ACCENT_COLOR: '#FC0',
        SITE_HOME_URL: 'https://partner.example.com/',
      },
    });
    const home = await h.agent.get('/');
    expect(home.text).toContain('<img class="logo" src="/brand/logo.svg" alt="">');
    expect(home.text).toContain('<span class="brand-name">Example Exchange Partner</span>');
    expect(home.text).toContain('href="https://partner.example.com/">Back to Example Exchange Partner</a>');
    const csp = home.headers['content-security-policy']!;
    expect(csp).toContain("img-src 'self' data:");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(home.text).not.toMatch(/ style="|<style/);
    const theme = /href="(\/brand\/theme\.css\?v=[0-9a-f]+)"/.exec(home.text)![1]!;
    const css = await h.agent.get(theme);
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/text\/css/);
    expect(css.text).toContain('--accent: #ffcc00;');
    const logo = await h.agent.get('/brand/logo.svg');
    expect(logo.status).toBe(200);
    expect(logo.headers['content-type']).toMatch(/image\/svg\+xml/);
    expect(logo.headers['content-security-policy']).toContain("script-src 'self'");
  });

  test('any accent gives AA contrast: text on the button, and accent text on light and dark pages', () => {
    for (const color of ['#0b6bcb', '#ffcc00', '#777777', '#000000', '#ffffff', '#e60012', '#00a870', '#7f00ff']) {
      const { light, dark } = accentPalette(color);
      for (const a of [light, dark]) expect(contrast(a.accent, a.ink)).toBeGreaterThanOrEqual(4.5);
      for (const bg of SURFACES.light) expect(contrast(light.text, bg)).toBeGreaterThanOrEqual(4.5);
      for (const bg of SURFACES.dark) expect(contrast(dark.text, bg)).toBeGreaterThanOrEqual(4.5);
    }
  });

  test('what the site gets: the allow-list adds orders, the institution\u2019s own words replace a scope\u2019s, unknown scopes are listed as they are', async () => {
    h = await startHarness({
      env: {
        XT_SCOPE: 'userinfo spotAssets tradeApi',
        XT_API_ALLOW: 'GET /spot/v4/balances,GET /spot/v4/open-order,POST /spot/v4/order,DELETE /spot/v4/order/*',
        SCOPE_TEXTS: JSON.stringify({
          spotAssets: { en: 'Show your balances on your dashboard', 'zh-CN': '在您的主页显示余额' },
        }),
      },
    });
    const en = (await h.agent.get('/')).text;
    expect(en).toContain('<li>See your XT.COM user id</li>');
    expect(en).toContain('<li>Show your balances on your dashboard</li>');
    expect(en).not.toContain('See your spot balances'); // the same line, in the institution's words
    expect(en).toContain('<li>See your orders and trades</li>');
    expect(en).toContain('<li>Place and cancel orders for you</li>');
    expect(en).toContain('tradeApi');
    const zh = (await request(h.built.app).get('/').set('Accept-Language', 'zh-CN')).text;
    expect(zh).toContain('<li>在您的主页显示余额</li>');
    expect(zh).toContain('<li>代您下单和撤单</li>');
    const hant = (await request(h.built.app).get('/').set('Accept-Language', 'zh-TW')).text;
    expect(hant).toContain('<li>查看您的現貨餘額</li>'); // no zh-Hant text given: the built-in words
  });
});

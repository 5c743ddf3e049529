/**
 * A person in a real browser (Debian's Chromium): open the site, click Connect XT.COM, click
 * Authorize at the stand-in, see the account page, then Disconnect. Then every state a person
 * can meet, in English, Simplified and Traditional Chinese, on a desktop and at phone width
 * (360 px), checked with axe-core in the light and the dark scheme, for boxes instead of Chinese
 * characters, horizontal scrolling, small tap targets and keyboard use. Screenshots are saved
 * under test/artifacts/ as <state>-<language>-<width>[-dark].png.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/index.js';
import { type Running, start } from '../../src/server.js';
import { OIDC_CLIENTS, type OidcStandIn, startOidcStandIn } from '../../standins/oidc.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import {
  ARTIFACTS,
  type AxeFinding,
  axe,
  hanRendering,
  keyboardProblems,
  launchChromium,
  smallTapTargets,
} from '../helpers/browser.js';
import { LogCapture, SESSION_SECRET, TEST_SECRET, scanLogs, tempDir, xtEnv } from '../helpers/harness.js';
import { freePort } from '../helpers/ports.js';

let browser: Browser;
let xt: XtStandIn;
let ciam: OidcStandIn;
let app: Running;
let base: string;
const logs = new LogCapture();
const SITE = 'Example Exchange Partner';

beforeAll(async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ciam = await startOidcStandIn({ redirectUris: [`${base}/auth/oidc/callback`], postLogoutRedirectUris: [`${base}/`] });
  const client = OIDC_CLIENTS.basic;
  app = await start(
    loadConfig(
      xtEnv(xt, {
        PORT: String(port),
        PUBLIC_URL: base,
        SESSION_STORE: 'sqlite',
        DATA_DIR: tempDir(),
        LOG_LEVEL: 'debug',
        SESSION_SECRET,
        OIDC_ISSUER: ciam.issuer,
        OIDC_CLIENT_ID: client.clientId,
        OIDC_CLIENT_SECRET: client.clientSecret,
        OIDC_LABEL: 'Tencent Cloud CIAM',
        OIDC_LOGOUT_URL: `${ciam.issuer}/logout`,
        SITE_NAME: SITE,
        SITE_HOME_URL: 'https://partner.example.com/',
        SUPPORT_URL: 'https://partner.example.com/help',
      }),
    ),
    '127.0.0.1',
    { logDestination: logs },
  );
  browser = await launchChromium();
}, 60_000);

/** Every axe result of the walk, written to test/artifacts/axe-summary.json at the end. */
const axeRuns: { page: string; scheme: string; violations: AxeFinding[] }[] = [];

afterAll(async () => {
  fs.writeFileSync(path.join(ARTIFACTS, 'axe-summary.json'), JSON.stringify(axeSummary(), null, 2));
  await browser?.close();
  await app?.stop();
  await ciam?.close();
  await xt?.close();
  // Everything the app logged while a real browser used it: no secret, token or code.
  expect(logs.lines.length).toBeGreaterThan(10);
  scanLogs(logs, [TEST_SECRET, SESSION_SECRET, OIDC_CLIENTS.basic.clientSecret, ...xt.issued(), ...ciam.issued()]);
});

function axeSummary() {
  const count = (impact: string) =>
    axeRuns.reduce((n, r) => n + r.violations.filter((v) => v.impact === impact).length, 0);
  return {
    runs: axeRuns.length,
    critical: count('critical'),
    serious: count('serious'),
    moderate: count('moderate'),
    minor: count('minor'),
    details: axeRuns.filter((r) => r.violations.length > 0),
  };
}

test('connect, see the account, disconnect', async () => {
  const page = await browser.newPage({ locale: 'en-US' });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${base}/`);
  await expect(page.locator('.brand-name').textContent()).resolves.toBe(SITE);
  await page.screenshot({ path: path.join(ARTIFACTS, '1-home.png'), fullPage: true });

  await page.getByRole('link', { name: 'Connect XT.COM' }).click();
  await page.waitForURL(/\/en\/accounts\/oauth2/);
  await page.screenshot({ path: path.join(ARTIFACTS, '2-xt-authorize.png'), fullPage: true });

  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL(`${base}/account`);
  await expect(page.locator('.uid').first().textContent()).resolves.toBe('12345678');
  await expect(page.locator('.balances').textContent()).resolves.toContain('USDT');
  // The live panel (public/xt-panel.js, through /api/xt) loaded the open orders.
  await page.locator('.xt-live .open-orders tbody tr').first().waitFor();
  await page.getByRole('button', { name: 'Refresh balances' }).click();
  await expect(page.locator('.xt-live-status').textContent()).resolves.toMatch(/^(Loading|Updated)/);
  // The technical details are collapsed; opened, localtime.js has rewritten the ISO timestamp into the reader's local format.
  await expect(page.locator('.access-exp').isVisible()).resolves.toBe(false);
  await page.getByText('Details', { exact: true }).click();
  await expect(page.locator('.access-exp').isVisible()).resolves.toBe(true);
  const expiry = await page.locator('.access-exp time').textContent();
  expect(expiry).not.toMatch(/UTC$/);
  await page.screenshot({ path: path.join(ARTIFACTS, '3-account.png'), fullPage: true });

  // The browser never holds a token: not in cookies, storage or the page.
  const cookies = await page.context().cookies();
  expect(cookies.map((c) => c.name)).toEqual(['xtc.sid']);
  expect(cookies[0]!.httpOnly).toBe(true);
  const html = await page.content();
  for (const secret of [...xt.issued(), ...ciam.issued()]) expect(html).not.toContain(secret);

  await page.getByRole('button', { name: 'Disconnect' }).click();
  await page.waitForURL(`${base}/`);
  await expect(page.getByRole('link', { name: 'Connect XT.COM' }).isVisible()).resolves.toBe(true);
  await expect(page.locator('[data-notice="disconnected"]').isVisible()).resolves.toBe(true);
  await page.screenshot({ path: path.join(ARTIFACTS, '4-disconnected.png'), fullPage: true });
  expect(errors).toEqual([]); // no CSP violations or script errors
  await page.close();
}, 60_000);

test('a Chinese-speaking person gets Chinese pages and XT.COM in zh-CN', async () => {
  const context = await browser.newContext({ locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: '连接 XT.COM' }).click();
  await page.waitForURL(/\/zh-CN\/accounts\/oauth2/);
  await page.getByRole('button', { name: '授权' }).click();
  await page.waitForURL(`${base}/account`);
  await expect(page.locator('h1').textContent()).resolves.toBe('您的连接');
  await page.screenshot({ path: path.join(ARTIFACTS, '5-account-zh.png'), fullPage: true });
  // The Chinese must render as text, not boxes (no CJK font): drawn in the heading's own font,
  // no character may look like the glyph of a code point no font has, nor like another one.
  const han = await hanRendering(page, 'h1');
  expect(han.chars).toEqual(['您', '的', '连', '接']);
  expectNoBoxes(han);
  expect(han.distinctDrawings).toBe(han.chars.length);
  expect(Math.abs(han.width - han.missingWidth)).toBeGreaterThan(1);
  await context.close();
}, 60_000);

test('the language menu switches to Traditional Chinese, and XT.COM follows the choice', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByRole('navigation', { name: 'Language' }).getByRole('link', { name: '繁體中文' }).click();
  await page.waitForURL(`${base}/`);
  await expect(page.locator('html').getAttribute('lang')).resolves.toBe('zh-Hant');
  await expect(page.locator('h1').textContent()).resolves.toBe('連接您的帳戶');
  await page.getByRole('link', { name: '連接 XT.COM' }).click();
  await page.waitForURL(/\/zh-HK\/accounts\/oauth2/);
  await expect(page.locator('html').getAttribute('lang')).resolves.toBe('zh-HK');
  await expect(page.locator('.standin').textContent()).resolves.toContain('模擬頁面');
  await context.close();
}, 60_000);

test('one session connected to both providers at once; disconnecting one keeps the other', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'Connect XT.COM' }).click();
  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL(`${base}/account`);

  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'Connect Tencent Cloud CIAM' }).click();
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.waitForURL(`${base}/account`);
  const oidcCard = page.locator('section[data-provider="oidc"]');
  await expect(oidcCard.textContent()).resolves.toContain(ciam.account.email);
  await expect(oidcCard.locator('.uid').textContent()).resolves.toBe(ciam.account.name); // "Connected as Li Lei"
  await expect(page.locator('section[data-provider="xt"] .uid').textContent()).resolves.toBe('12345678');
  await page.screenshot({ path: path.join(ARTIFACTS, '6-account-both.png'), fullPage: true });

  const api = await page.request.get(`${base}/api/session`);
  const body = (await api.json()) as { connected: boolean; providers: Record<string, { connected: boolean }> };
  expect(body.connected).toBe(true);
  expect(body.providers.xt!.connected).toBe(true);
  expect(body.providers.oidc!.connected).toBe(true);

  // Disconnect CIAM: revoked, through CIAM's own logout page, back home; XT.COM stays connected.
  const revokedBefore = ciam.calls.revocation;
  await oidcCard.getByRole('button', { name: 'Disconnect' }).click();
  await page.waitForURL((u) => u.origin === base && u.pathname === '/'); // CIAM's logout echoes its state

  expect(ciam.calls.logout).toBe(1);
  expect(ciam.calls.revocation).toBe(revokedBefore + 1);
  await expect(page.getByRole('link', { name: 'Connect Tencent Cloud CIAM' }).isVisible()).resolves.toBe(true);
  await expect(page.locator('article[data-provider="xt"] .status.ok').isVisible()).resolves.toBe(true);
  await expect(page.locator('[data-notice="disconnected"]').textContent()).resolves.toContain(
    'also asked Tencent Cloud CIAM to withdraw the access',
  );
  await page.screenshot({ path: path.join(ARTIFACTS, '7-home-xt-only.png'), fullPage: true });
  expect(errors).toEqual([]);
  await context.close();
}, 60_000);

// ---------- every state, in every language, at desktop and phone width ----------

const LANGS = [
  {
    id: 'en',
    locale: 'en-US',
    connect: 'Connect XT.COM',
    reconnect: 'Reconnect XT.COM',
    authorize: 'Authorize',
    deny: 'Deny',
    disconnect: 'Disconnect',
  },
  {
    id: 'zh-CN',
    locale: 'zh-CN',
    connect: '连接 XT.COM',
    reconnect: '重新连接 XT.COM',
    authorize: '授权',
    deny: '拒绝',
    disconnect: '断开与 XT.COM 的连接',
  },
  {
    id: 'zh-Hant',
    locale: 'zh-TW',
    connect: '連接 XT.COM',
    reconnect: '重新連接 XT.COM',
    authorize: '授權',
    deny: '拒絕',
    disconnect: '中斷與 XT.COM 的連接',
  },
] as const;
const WIDTHS = [
  { width: 1280, height: 900 },
  { width: 360, height: 740 },
] as const;

type Lang = (typeof LANGS)[number];

interface HanResult {
  likeMissingGlyph: string[];
  font: string;
}

function expectNoBoxes(han: HanResult): void {
  if (han.likeMissingGlyph.length > 0) {
    throw new Error(
      `Chinese renders as boxes (${han.likeMissingGlyph.join('')} in ${han.font}): install a CJK font, e.g. apt-get install fonts-wqy-zenhei (scripts/test-deps.sh does)`,
    );
  }
}

/** Everything checked on each state's page; screenshots named <state>-<language>-<width>[-dark].png. */
async function checkState(page: Page, state: string, lang: Lang, width: number): Promise<void> {
  await page.locator(`main[data-state="${state}"]`).waitFor();
  await page.evaluate(() => document.fonts.ready);
  const name = `${state}-${lang.id}-${width}`;
  const where = `${state} (${lang.id}, ${width} px)`;

  // The page speaks the person's language, and Chinese renders as characters, not boxes.
  const htmlLang = await page.locator('html').getAttribute('lang');
  expect([where, htmlLang]).toEqual([where, lang.id === 'en' ? 'en' : lang.id]);
  if (lang.id !== 'en') {
    const heading = await hanRendering(page, 'main h1');
    expect([where, heading.chars.length > 0]).toEqual([where, true]);
    expectNoBoxes(heading);
    expect(heading.distinctDrawings).toBe(heading.chars.length);
    expectNoBoxes(await hanRendering(page, 'main'));
    expectNoBoxes(await hanRendering(page, 'header'));
  }

  // Phone: no horizontal scrolling. Every link and button on the page (the header's, the footer's
  // and the skip link included, not only the content's) at least 44 by 44 px, at every width.
  if (width <= 360) {
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect([where, scrollWidth]).toEqual([where, width]);
  }
  expect([where, await smallTapTargets(page, 'body')]).toEqual([where, []]);

  // WCAG 2.2 AA with axe, in the light and the dark scheme.
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const violations = await axe(page);
    axeRuns.push({ page: name, scheme, violations });
    const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect([where, scheme, blocking]).toEqual([where, scheme, []]);
    if (scheme === 'light' || width <= 360) {
      await page.screenshot({
        path: path.join(ARTIFACTS, `${name}${scheme === 'dark' ? '-dark' : ''}.png`),
        fullPage: true,
      });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

describe.each(LANGS)('every state in $id', (lang) => {
  test.each(WIDTHS)(
    'at $width px',
    async ({ width, height }) => {
      const context = await browser.newContext({
        locale: lang.locale,
        viewport: { width, height },
        colorScheme: 'light',
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 502') && errors.push(m.text()));
      const connect = () =>
        page
          .locator('article[data-provider="xt"], section[data-provider="xt"]')
          .getByRole('link', { name: lang.connect })
          .click();

      // not-connected
      await page.goto(`${base}/`);
      await checkState(page, 'not-connected', lang, width);
      if (lang.id === 'en' || width > 360) expect(await keyboardProblems(page)).toEqual([]);
      const register = page.getByRole('link', {
        name: lang.id === 'en' ? 'Create one' : lang.id === 'zh-CN' ? '立即注册' : '立即註冊',
      });
      await expect(register.getAttribute('href')).resolves.toBe(
        `https://www.xt.com/${lang.id === 'en' ? 'en' : lang.id === 'zh-CN' ? 'zh-CN' : 'zh-HK'}/accounts/register?client_id=demo-client`,
      );

      // The XT.COM stand-in's page: in the person's language, labelled a stand-in, fits a phone.
      await connect();
      await page.waitForURL(/\/accounts\/oauth2/);
      await expect(page.locator('.standin').isVisible()).resolves.toBe(true);
      await expect(page.locator('meta[name="viewport"]').count()).resolves.toBe(1);
      if (lang.id !== 'en') expectNoBoxes(await hanRendering(page, 'body'));
      if (width <= 360)
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      await page.screenshot({ path: path.join(ARTIFACTS, `xt-standin-${lang.id}-${width}.png`), fullPage: true });

      // declined: Deny at XT.COM
      await page.getByRole('button', { name: lang.deny }).click();
      await checkState(page, 'declined', lang, width);

      // connected: Connect again, Authorize; the confirmation shows once
      await page.getByRole('link', { name: lang.connect }).click();
      await page.getByRole('button', { name: lang.authorize }).click();
      await page.waitForURL(`${base}/account`);
      await expect(page.locator('[data-notice="connected"]').count()).resolves.toBe(1);
      await page.locator('.xt-live .open-orders tbody tr').first().waitFor(); // the live panel has loaded
      await checkState(page, 'connected', lang, width);

      // still-connected: the browser's Back button to XT.COM's page, and Authorize again
      await page.goBack();
      await page.waitForURL(/\/accounts\/oauth2/);
      await page.getByRole('button', { name: lang.authorize }).click();
      await page.waitForURL(`${base}/account`);
      await checkState(page, 'still-connected', lang, width);
      await page.reload();
      await page.locator('main[data-state="connected"]').waitFor();
      await expect(page.locator('[data-notice]').count()).resolves.toBe(0); // once only
      if (lang.id === 'en') {
        await page.locator('.xt-live .open-orders tbody tr').first().waitFor();
        expect(await keyboardProblems(page)).toEqual([]); // the account page, Details and Disconnect included
      }

      // reconnect-needed: XT.COM refuses the refresh (the person removed the access there)
      xt.revokeRefreshTokens();
      xt.revokeAccessTokens();
      expect((await page.request.get(`${base}/api/xt/spot/v4/balances`)).status()).toBe(401);
      await page.goto(`${base}/account`);
      await checkState(page, 'reconnect-needed', lang, width);

      // disconnected: Reconnect, then Disconnect; the confirmation shows once
      await page.getByRole('link', { name: lang.reconnect }).click();
      await page.getByRole('button', { name: lang.authorize }).click();
      await page.waitForURL(`${base}/account`);
      await page.getByRole('button', { name: lang.disconnect }).click();
      await page.waitForURL(`${base}/`);
      await checkState(page, 'disconnected', lang, width);
      await page.reload();
      await page.locator('main[data-state="not-connected"]').waitFor();

      // unavailable: XT.COM's token endpoint fails; nobody was connected, so nothing is "kept"
      xt.failNext('http500', 1, 'authorization_code');
      await connect();
      await page.getByRole('button', { name: lang.authorize }).click();
      await checkState(page, 'unavailable', lang, width);
      await expect(page.locator('main').textContent()).resolves.not.toMatch(/kept|保留/);

      // misconfigured: XT.COM says the site's key is unknown (AUTH_101)
      xt.respondNextWith({ body: JSON.stringify({ rc: 1, mc: 'AUTH_101', ma: [], result: null }) });
      await page.goto(`${base}/`);
      await connect();
      await page.getByRole('button', { name: lang.authorize }).click();
      await checkState(page, 'misconfigured', lang, width);
      await expect(page.locator('main a[href="https://partner.example.com/help"]').count()).resolves.toBe(1);

      expect(errors).toEqual([]); // no CSP violations or script errors
      await context.close();
    },
    120_000,
  );
});

test('the axe check is not vacuous: on a page with faults it finds them', async () => {
  const context = await browser.newContext(); // AxeBuilder needs a page of a context of its own
  const page = await context.newPage();
  await page.setContent(
    '<html><body><img src="data:,"><p style="color:#bbb;background:#fff">faint</p><button></button></body></html>',
  );
  const found = await axe(page);
  expect(found.map((v) => v.id)).toEqual(
    expect.arrayContaining(['image-alt', 'button-name', 'color-contrast', 'html-has-lang']),
  );
  expect(found.filter((v) => v.impact === 'serious' || v.impact === 'critical').length).toBeGreaterThan(0);
  await context.close();
});

test('axe found nothing serious or critical on any page', () => {
  const summary = axeSummary();
  expect(summary.runs).toBe(LANGS.length * WIDTHS.length * 8 * 2);
  expect({ critical: summary.critical, serious: summary.serious }).toEqual({ critical: 0, serious: 0 });
});

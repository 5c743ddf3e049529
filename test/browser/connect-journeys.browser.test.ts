/**
 * A person in a real browser (Debian's Chromium): open the site, click Connect XT.COM, click
 * Authorize at the stand-in, see the account page, then Disconnect; the same in Chinese; and one
 * session connected to both providers. Screenshots are saved under test/artifacts/. Every state
 * a person can meet, in every language and width, with axe-core: page-states.browser.test.ts.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import type { OidcStandIn } from '../../standins/oidc.js';
import type { XtStandIn } from '../../standins/xt.js';
import { ARTIFACTS, expectNoBoxes, hanRendering } from '../helpers/browser.js';
import { type BrowserSite, SITE, startBrowserSite, stopBrowserSite } from '../helpers/browserSite.js';

let site: BrowserSite | undefined;
let browser: Browser;
let xt: XtStandIn;
let ciam: OidcStandIn;
let base: string;

beforeAll(async () => {
  site = await startBrowserSite();
  ({ browser, xt, ciam, base } = site);
}, 60_000);

afterAll(() => stopBrowserSite(site));

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
  await expect(page.locator('h1').textContent()).resolves.toBe('我的连接');
  await page.screenshot({ path: path.join(ARTIFACTS, '5-account-zh.png'), fullPage: true });
  // The Chinese must render as text, not boxes (no CJK font): drawn in the heading's own font,
  // no character may look like the glyph of a code point no font has, nor like another one.
  const han = await hanRendering(page, 'h1');
  expect(han.chars).toEqual(['我', '的', '连', '接']);
  expectNoBoxes(han);
  expect(han.distinctDrawings).toBe(han.chars.length);
  expect(Math.abs(han.width - han.missingWidth)).toBeGreaterThan(1);
  await context.close();
}, 60_000);

test('the language menu switches to Traditional Chinese, and XT.COM follows the choice', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  const menu = page.getByRole('navigation', { name: 'Language' });
  await menu.locator('summary').click(); // the menu names the current language; opened, it lists all eleven
  await menu.getByRole('link', { name: '繁體中文' }).click();
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

/**
 * A person in a real browser (Debian's Chromium): open the demo, click Connect XT.COM,
 * click Authorize at the stand-in, see the account page, then Disconnect.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { type Running, start } from '../../src/server.js';
import { OIDC_CLIENTS, type OidcStandIn, startOidcStandIn } from '../../standins/oidc.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { ARTIFACTS, hanRendering, launchChromium } from '../helpers/browser.js';
import { LogCapture, SESSION_SECRET, TEST_SECRET, scanLogs, tempDir, xtEnv } from '../helpers/harness.js';
import { freePort } from '../helpers/ports.js';

let browser: Browser;
let xt: XtStandIn;
let ciam: OidcStandIn;
let app: Running;
let base: string;
const logs = new LogCapture();

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
      }),
    ),
    '127.0.0.1',
    { logDestination: logs },
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await ciam?.close();
  await xt?.close();
  // Everything the app logged while a real browser used it: no secret, token or code.
  expect(logs.lines.length).toBeGreaterThan(10);
  scanLogs(logs, [TEST_SECRET, SESSION_SECRET, OIDC_CLIENTS.basic.clientSecret, ...xt.issued(), ...ciam.issued()]);
});

test('connect, see the account, disconnect', async () => {
  const page = await browser.newPage({ locale: 'en-US' });
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${base}/`);
  await page.screenshot({ path: path.join(ARTIFACTS, '1-home.png'), fullPage: true });

  await page.getByRole('link', { name: 'Connect XT.COM' }).click();
  await page.waitForURL(/\/en\/accounts\/oauth2/);
  await page.screenshot({ path: path.join(ARTIFACTS, '2-xt-authorize.png'), fullPage: true });

  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL(`${base}/account`);
  await expect(page.locator('.uid').first().textContent()).resolves.toBe('12345678');
  await expect(page.locator('.balances').textContent()).resolves.toContain('USDT');
  // localtime.js rewrote the ISO timestamp into the reader's local format
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
  if (han.likeMissingGlyph.length > 0) {
    throw new Error(
      `Chinese renders as boxes (${han.likeMissingGlyph.join('')} in ${han.font}): install a CJK font, e.g. apt-get install fonts-wqy-zenhei (scripts/test-deps.sh does)`,
    );
  }
  expect(han.distinctDrawings).toBe(han.chars.length);
  expect(Math.abs(han.width - han.missingWidth)).toBeGreaterThan(1);
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
  await expect(page.locator('section[data-provider="xt"] .uid').textContent()).resolves.toBe('12345678');
  await page.screenshot({ path: path.join(ARTIFACTS, '6-account-both.png'), fullPage: true });

  const api = await page.request.get(`${base}/api/session`);
  const body = (await api.json()) as { connected: boolean; providers: Record<string, { connected: boolean }> };
  expect(body.connected).toBe(true);
  expect(body.providers.xt!.connected).toBe(true);
  expect(body.providers.oidc!.connected).toBe(true);

  // Disconnect CIAM: revoked, through CIAM's own logout page, back home; XT.COM stays connected.
  await oidcCard.getByRole('button', { name: 'Disconnect' }).click();
  await page.waitForURL((u) => u.origin === base && u.pathname === '/'); // CIAM's logout echoes its state

  expect(ciam.calls.logout).toBe(1);
  expect(ciam.calls.revocation).toBe(1);
  await expect(page.getByRole('link', { name: 'Connect Tencent Cloud CIAM' }).isVisible()).resolves.toBe(true);
  await expect(page.locator('article[data-provider="xt"] .status.ok').isVisible()).resolves.toBe(true);
  await page.screenshot({ path: path.join(ARTIFACTS, '7-home-xt-only.png'), fullPage: true });
  expect(errors).toEqual([]);
  await context.close();
}, 60_000);

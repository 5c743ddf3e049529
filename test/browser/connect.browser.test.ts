/**
 * A person in a real browser (Debian's Chromium): open the demo, click Connect XT.COM,
 * click Authorize at the stand-in, see the account page, then Disconnect.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { type Running, start } from '../../src/server.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { ARTIFACTS, freePort, launchChromium } from '../helpers/browser.js';
import { SESSION_SECRET, TEST_SECRET, tempDir, xtEnv } from '../helpers/harness.js';

let browser: Browser;
let xt: XtStandIn;
let app: Running;
let base: string;

beforeAll(async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  app = await start(
    loadConfig(xtEnv(xt, { PORT: String(port), PUBLIC_URL: base, SESSION_STORE: 'sqlite', DATA_DIR: tempDir(), LOG_LEVEL: 'warn', SESSION_SECRET })),
    '127.0.0.1',
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await xt?.close();
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
  for (const secret of xt.issued()) expect(html).not.toContain(secret);

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
  await context.close();
}, 60_000);

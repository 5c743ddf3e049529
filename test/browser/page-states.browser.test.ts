/**
 * Every state a person can meet, in a real browser (Debian's Chromium), in English, Simplified and
 * Traditional Chinese, on a desktop and at phone width (360 px), checked with axe-core in the light
 * scheme, and at 360 px in the dark one too, for boxes instead of Chinese characters, horizontal scrolling, small tap
 * targets and keyboard use. Screenshots are saved under test/artifacts/ as
 * <state>-<language>-<width>[-dark].png. Connecting and disconnecting: connect-journeys.browser.test.ts.
 * The eight other page languages (Japanese, Hindi, Thai…): page-languages.browser.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { XtStandIn } from '../../standins/xt.js';
import {
  ARTIFACTS,
  type AxeFinding,
  axe,
  expectNoBoxes,
  hanRendering,
  keyboardProblems,
  smallTapTargets,
} from '../helpers/browser.js';
import { type BrowserSite, startBrowserSite, stopBrowserSite } from '../helpers/browserSite.js';

let site: BrowserSite | undefined;
let browser: Browser;
let xt: XtStandIn;
let base: string;

beforeAll(async () => {
  site = await startBrowserSite();
  ({ browser, xt, base } = site);
}, 60_000);

/** Every axe result of the walk, written to test/artifacts/axe-summary.json at the end. */
const axeRuns: { page: string; scheme: string; violations: AxeFinding[] }[] = [];

afterAll(async () => {
  fs.writeFileSync(path.join(ARTIFACTS, 'axe-summary.json'), JSON.stringify(axeSummary(), null, 2));
  await stopBrowserSite(site);
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

/** Everything checked on each state's page; screenshots named <state>-<language>-<width>[-dark].png. */
/** `variant` names a second page in the same state (its screenshot's name), e.g. the home page's. */
async function checkState(page: Page, state: string, lang: Lang, width: number, variant?: string): Promise<void> {
  await page.locator(`main[data-state="${state}"]`).waitFor();
  await page.evaluate(() => document.fonts.ready);
  const shown = variant ? `${state}-${variant}` : state;
  const name = `${shown}-${lang.id}-${width}`;
  const where = `${shown} (${lang.id}, ${width} px)`;

  // The page speaks the person's language, and Chinese renders as characters, not boxes.
  const htmlLang = await page.locator('html').getAttribute('lang');
  expect([where, htmlLang]).toEqual([where, lang.id === 'en' ? 'en' : lang.id]);
  // A glyph is drawn alike at any width: the boxes checks run at the phone's.
  if (lang.id !== 'en' && width <= 360) {
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

  // WCAG 2.2 AA with axe, in the light and (at the phone's width: the colours are the same at any) the dark scheme.
  for (const scheme of width <= 360 ? (['light', 'dark'] as const) : (['light'] as const)) {
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
      // The error pages' own statuses (502 unavailable, 409 reconnect_other_account) are logged by the browser, not faults.
      page.on(
        'console',
        (m) => m.type() === 'error' && !/status of (502|409)\b/.test(m.text()) && errors.push(m.text()),
      );
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

      // Reconnect in place: the account page's Reconnect button renews the same connection at XT.COM
      await page.getByRole('button', { name: lang.reconnect }).click();
      await page.waitForURL(/\/accounts\/oauth2/);
      await page.getByRole('button', { name: lang.authorize }).click();
      await page.waitForURL(`${base}/account`);
      await page.locator('main[data-state="connected"]').waitFor();

      // reconnect_other_account: Reconnect, approved at XT.COM as another user; the connection stays
      await page.getByRole('button', { name: lang.reconnect }).click();
      await page.waitForURL(/\/accounts\/oauth2/);
      await page.evaluate(() => {
        const other = Object.assign(document.createElement('input'), {
          type: 'hidden',
          name: 'as_user',
          value: '87654321',
        });
        document.querySelector('form')!.append(other);
      });
      await page.getByRole('button', { name: lang.authorize }).click();
      await checkState(page, 'error', lang, width);
      await expect(page.locator('[data-error="reconnect_other_account"]').count()).resolves.toBe(1);
      await page.locator('main a[href="/account"]').click();
      await page.locator('main[data-state="connected"]').waitFor();
      await expect(page.locator('main').textContent()).resolves.not.toContain('87654321');

      // reconnect-needed: XT.COM refuses the refresh (the person removed the access there)
      xt.revokeRefreshTokens();
      xt.revokeAccessTokens();
      expect((await page.request.get(`${base}/api/xt/spot/v4/balances`)).status()).toBe(401);
      await page.goto(`${base}/account`);
      await checkState(page, 'reconnect-needed', lang, width);
      await page.goto(`${base}/`);
      await checkState(page, 'reconnect-needed', lang, width, 'home');

      // disconnected: Reconnect (the home page's), then Disconnect; the confirmation shows once
      await page.getByRole('button', { name: lang.reconnect }).click(); // a form: renews the same connection
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
    240_000, // nine states and the home page in one of them (ten pages), each checked with axe (twice at 360 px)
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
  // Ten pages per language and width, in the light scheme at both widths and the dark one at 360 px.
  expect(summary.runs).toBe(LANGS.length * 10 * 3);
  expect({ critical: summary.critical, serious: summary.serious }).toEqual({ critical: 0, serious: 0 });
});

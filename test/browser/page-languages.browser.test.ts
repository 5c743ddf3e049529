/**
 * Every state a person can meet, in the eight page languages beyond English and Chinese (those three
 * are walked by page-states.browser.test.ts, with the dark scheme and the keyboard): Japanese,
 * Hindi, Indonesian, Russian, Spanish, Turkish, Vietnamese and Thai, in a real browser (Debian's
 * Chromium). Each state's page is checked at 360 px and again at 1280 px (the same page, resized:
 * one walk per language keeps the file cheap): `<html lang>`, no text drawn as boxes (Japanese,
 * Devanagari, Thai and every other non-ASCII letter), no horizontal scrolling at 360 px, no tap
 * target under 44 px, and nothing serious or critical from axe (at 1280 px for three states: see
 * checkBothWidths). XT.COM's {lang} follows the page.
 * Screenshots: test/artifacts/<state>-<language>-<width>.png and xt-standin-<language>-<width>.png.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CATALOGS, type Locale } from '../../src/i18n/index.js';
import type { XtStandIn } from '../../standins/xt.js';
import xtWords from '../../standins/xt/words.json' with { type: 'json' };
import { ARTIFACTS, SCRIPTS, axe, expectNoBoxes, hanRendering, smallTapTargets } from '../helpers/browser.js';
import { type BrowserSite, startBrowserSite, stopBrowserSite } from '../helpers/browserSite.js';

let site: BrowserSite | undefined;
let browser: Browser;
let xt: XtStandIn;
let base: string;

beforeAll(async () => {
  site = await startBrowserSite();
  ({ browser, xt, base } = site);
}, 60_000);

afterAll(() => stopBrowserSite(site));

/** Each language: its page tag, a browser locale that asks for it, and its script's letters. */
const LANGS: { id: Locale; browser: string; script: string }[] = [
  { id: 'ja', browser: 'ja-JP', script: SCRIPTS.japanese },
  { id: 'hi', browser: 'hi-IN', script: SCRIPTS.devanagari },
  { id: 'id', browser: 'id-ID', script: SCRIPTS.nonAscii },
  { id: 'ru', browser: 'ru-RU', script: SCRIPTS.nonAscii },
  { id: 'es', browser: 'es-ES', script: SCRIPTS.nonAscii },
  { id: 'tr', browser: 'tr-TR', script: SCRIPTS.nonAscii },
  { id: 'vi', browser: 'vi-VN', script: SCRIPTS.nonAscii },
  { id: 'th', browser: 'th-TH', script: SCRIPTS.thai },
];
const WIDE = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };
const LETTERS_REQUIRED = new Set<Locale>(['ja', 'hi', 'ru', 'vi', 'th']); // no page of theirs is all ASCII

/** The states checked in full at 1280 px too (axe, a screenshot); every other one is checked in full at 360 px. */
const FULL_AT_BOTH = new Set(['not-connected', 'connected', 'error']);

/**
 * Both widths of the page as it is. At 360 px, where pages break, every check and a screenshot.
 * At 1280 px: `lang`, tap targets, and for FULL_AT_BOTH also axe and a screenshot (the DOM, the
 * words and the colours are the same at both widths; axe at both for every state cost CI minutes).
 * The boxes check runs once: a glyph is drawn alike at any width.
 */
async function checkBothWidths(page: Page, name: string, lang: (typeof LANGS)[number], isStandIn = false) {
  await page.evaluate(() => document.fonts.ready);
  for (const size of [WIDE, PHONE]) {
    await page.setViewportSize(size);
    const where = `${name} (${lang.id}, ${size.width} px)`;
    const full = size.width === PHONE.width || FULL_AT_BOTH.has(name);
    const htmlLang = await page.locator('html').getAttribute('lang');
    expect([where, htmlLang]).toEqual([where, lang.id]); // XT.COM's tag for each of these is the page's
    if (size.width === PHONE.width) {
      const body = await hanRendering(page, 'body', lang.script);
      if (LETTERS_REQUIRED.has(lang.id)) expect([where, body.chars.length > 0]).toEqual([where, true]);
      expectNoBoxes(body);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      expect([where, scrollWidth]).toEqual([where, PHONE.width]);
    }
    if (!isStandIn) {
      expect([where, await smallTapTargets(page, 'body')]).toEqual([where, []]);
      if (full) {
        const blocking = (await axe(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
        expect([where, blocking]).toEqual([where, []]);
      }
    }
    if (full)
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${lang.id}-${size.width}.png`), fullPage: true });
  }
  await page.setViewportSize(WIDE);
}

/** The language menu, opened at both widths: all eleven in their own names, inside the window. */
async function languageMenuFits(page: Page, id: Locale) {
  for (const size of [WIDE, PHONE]) {
    await page.setViewportSize(size);
    await page.locator('.langs summary').click();
    const menu = page.locator('.langs ul');
    await menu.waitFor();
    const box = (await menu.boundingBox())!;
    const where = `language menu (${id}, ${size.width} px)`;
    expect([where, box.x >= 0, box.x + box.width <= size.width]).toEqual([where, true, true]);
    await expect(menu.getByRole('link').count()).resolves.toBe(11);
    await expect(menu.locator('a[aria-current]').getAttribute('hreflang')).resolves.toBe(id);
    expectNoBoxes(await hanRendering(page, '.langs ul', SCRIPTS.nonAscii));
    await page.screenshot({ path: path.join(ARTIFACTS, `language-menu-${id}-${size.width}.png`) });
    await page.locator('.langs summary').click();
  }
  await page.setViewportSize(WIDE);
}

describe.each(LANGS)('every state in $id, at 1280 and 360 px', (lang) => {
  test('walked once, each page checked at both widths', async () => {
    const t = CATALOGS[lang.id];
    const xtLang = lang.id; // XT.COM's own tag for each of these eight
    const w = xtWords[lang.id as keyof typeof xtWords];
    const say = (key: keyof typeof t) => t[key].replace('{provider}', 'XT.COM');
    const context = await browser.newContext({ locale: lang.browser, viewport: WIDE, colorScheme: 'light' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && !/status of (502|409)\b/.test(m.text()) && errors.push(m.text()));
    const state = async (name: string, shot = name) => {
      await page.locator(`main[data-state="${name}"]`).waitFor();
      await checkBothWidths(page, shot, lang);
    };
    const connect = () =>
      page
        .locator('article[data-provider="xt"], section[data-provider="xt"]')
        .getByRole('link', { name: say('home.connect') })
        .click();
    const authorize = () => page.getByRole('button', { name: w.authorize }).click();

    await page.goto(`${base}/`);
    await state('not-connected');
    await languageMenuFits(page, lang.id);
    // XT.COM's registration page and its authorization page come in the page's language.
    await expect(page.getByRole('link', { name: t['home.register'] }).getAttribute('href')).resolves.toBe(
      `https://www.xt.com/${xtLang}/accounts/register?client_id=demo-client`,
    );
    await connect();
    await page.waitForURL(new RegExp(`/${xtLang}/accounts/oauth2`));
    await checkBothWidths(page, 'xt-standin', lang, true);

    await page.getByRole('button', { name: w.deny }).click();
    await state('declined');

    await page.getByRole('link', { name: say('home.connect') }).click();
    await authorize();
    await page.waitForURL(`${base}/account`);
    await page.locator('.xt-live .open-orders tbody tr').first().waitFor();
    await expect(page.locator('[data-notice="connected"]').count()).resolves.toBe(1);
    // XT.COM's BUY or SELL, in the page's words
    const side = await page.locator('.xt-live .open-orders tbody tr td').nth(1).textContent();
    expect([t['account.buy'], t['account.sell']]).toContain(side);
    await state('connected');

    await page.goBack();
    await page.waitForURL(/\/accounts\/oauth2/);
    await authorize();
    await page.waitForURL(`${base}/account`);
    await state('still-connected');

    // reconnect_other_account: Reconnect, approved at XT.COM as another user
    await page.getByRole('button', { name: say('account.reconnect') }).click();
    await page.waitForURL(/\/accounts\/oauth2/);
    await page.evaluate(() => {
      const other = Object.assign(document.createElement('input'), { type: 'hidden', name: 'as_user', value: '8765' });
      document.querySelector('form')!.append(other);
    });
    await authorize();
    await expect(page.locator('[data-error="reconnect_other_account"]').count()).resolves.toBe(1);
    await state('error');

    xt.revokeRefreshTokens();
    xt.revokeAccessTokens();
    expect((await page.request.get(`${base}/api/xt/spot/v4/balances`)).status()).toBe(401);
    await page.goto(`${base}/account`);
    await state('reconnect-needed');
    await page.goto(`${base}/`);
    await state('reconnect-needed', 'reconnect-needed-home');

    await page.getByRole('button', { name: say('account.reconnect') }).click();
    await authorize();
    await page.waitForURL(`${base}/account`);
    await page.getByRole('button', { name: say('account.disconnect') }).click();
    await page.waitForURL(`${base}/`);
    await state('disconnected');

    xt.failNext('http500', 1, 'authorization_code');
    await page.goto(`${base}/`);
    await connect();
    await authorize();
    await state('unavailable');

    xt.respondNextWith({ body: JSON.stringify({ rc: 1, mc: 'AUTH_101', ma: [], result: null }) });
    await page.goto(`${base}/`);
    await connect();
    await authorize();
    await state('misconfigured');

    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);
});

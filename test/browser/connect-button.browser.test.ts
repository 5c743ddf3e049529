/**
 * The drop-in Connect button in Debian's Chromium: a page on a second loopback origin (listed in
 * EMBED_ORIGINS) imports /connect.js and opens the connection in a popup; approving gives
 * onSuccess, closing the popup onExit ('closed'), declining onExit ('declined'), a spent link onError
 * (link_expired), a forged one no message (onExit 'closed', as the cut handle reads). A page on a third
 * origin, not listed, cannot import the script and receives no message. With popups blocked the
 * page goes to the login itself. axe-core finds nothing serious in the button or the popup's pages.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { axe } from '../helpers/browser.js';
import { type BrowserSite, startBrowserSite, stopBrowserSite } from '../helpers/browserSite.js';
import { LINK_SECRET, linkToken } from '../helpers/link.js';

/** A link token for `sub`, addressed to this site. */
const link = (sub: string) => linkToken(sub, { aud: base });
/** The random state connect.js chose for the call. */
const ANY_STATE: unknown = expect.any(String);

let site: BrowserSite | undefined;
let browser: Browser;
let base: string;
let allowed: EmbedSite;
let other: EmbedSite;

interface EmbedSite {
  origin: string;
  server: http.Server;
}

/** The institution's page: imports /connect.js, shows the button, records what reaches it. */
const pageHtml = (appBase: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bank</title>
<style>xt-connect-button { --xt-connect-background: #004d40; }</style></head>
<body><main><h1>Your bank</h1>
<xt-connect-button id="connect">Connect your XT.COM account</xt-connect-button>
<script type="module">
  window.seen = [];
  window.addEventListener('message', (e) => window.seen.push({ kind: 'message', origin: e.origin, data: e.data }));
  const button = document.getElementById('connect');
  button.setAttribute('link', new URLSearchParams(location.search).get('link') || '');
  for (const name of ['success', 'exit', 'error'])
    button.addEventListener('xt-connect-' + name, (e) => window.seen.push({ kind: name, detail: e.detail }));
  try {
    await import('${appBase}/connect.js');
    window.loaded = 'yes';
  } catch (err) {
    window.loaded = 'no';
  }
</script></main></body></html>`;

async function startEmbedSite(appBase: () => string): Promise<EmbedSite> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(pageHtml(appBase()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

beforeAll(async () => {
  allowed = await startEmbedSite(() => base);
  other = await startEmbedSite(() => base);
  site = await startBrowserSite({ LINK_SECRET, EMBED_ORIGINS: allowed.origin });
  ({ browser, base } = site);
}, 60_000);

afterAll(async () => {
  await stopBrowserSite(site);
  for (const s of [allowed, other]) await new Promise((resolve) => s?.server.close(resolve));
});

/** A fresh context with the bank's page open for user `sub` (or with `token`), the script loaded (or refused). */
async function bankPage(at: EmbedSite, sub: string, token?: string): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US' });
  context.setDefaultTimeout(8000);
  const page = await context.newPage();
  await page.goto(`${at.origin}/?link=${token ?? (await link(sub))}`);
  await page.waitForFunction(() => (window as unknown as { loaded?: string }).loaded !== undefined);
  return page;
}

const seen = (page: Page) => page.evaluate(() => (window as unknown as { seen: unknown[] }).seen);

/** Waits until the page has recorded a callback (success, exit or error), and returns what it saw. */
async function outcome(page: Page): Promise<{ kind: string; detail: Record<string, unknown> }> {
  await page.waitForFunction(() =>
    (window as unknown as { seen: { kind: string }[] }).seen.some((s) => s.kind !== 'message'),
  );
  return ((await seen(page)) as { kind: string; detail: Record<string, unknown> }[]).find((s) => s.kind !== 'message')!;
}

async function openPopup(page: Page): Promise<Page> {
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button').click()]);
  await popup.waitForLoadState();
  return popup;
}

test('approve in the popup: onSuccess, with nothing secret in the message', async () => {
  const page = await bankPage(allowed, '101');
  const popup = await openPopup(page);
  await popup.getByRole('button', { name: 'Authorize' }).click();
  const got = await outcome(page);
  expect(got).toEqual({ kind: 'success', detail: { status: 'connected', provider: 'xt', state: ANY_STATE } });
  const message = ((await seen(page)) as { kind: string; origin: string; data: Record<string, unknown> }[]).find(
    (s) => s.kind === 'message' && s.data?.type === 'xt-connect',
  )!;
  expect(message.origin).toBe(base);
  expect(Object.keys(message.data).sort()).toEqual(['provider', 'state', 'status', 'type']);
  for (let i = 0; i < 50 && !popup.isClosed(); i++) await page.waitForTimeout(100);
  expect(popup.isClosed()).toBe(true); // it closed itself
  await page.context().close();
});

test('closing the popup: onExit with closed', async () => {
  const page = await bankPage(allowed, '102');
  const popup = await openPopup(page);
  await popup.close();
  await expect(outcome(page)).resolves.toEqual({
    kind: 'exit',
    detail: { status: 'closed', provider: 'xt', state: ANY_STATE },
  });
  await page.context().close();
});

test('declining at the stand-in: onExit with declined', async () => {
  const page = await bankPage(allowed, '103');
  const popup = await openPopup(page);
  await popup.getByRole('button', { name: 'Deny' }).click();
  await expect(outcome(page)).resolves.toEqual({
    kind: 'exit',
    detail: { status: 'declined', provider: 'xt', state: ANY_STATE },
  });
  await page.context().close();
});

test('a spent link: the popup tells the page, onError with link_expired (nothing secret)', async () => {
  const token = await link('109');
  const spent = await fetch(`${base}/auth/xt/login?link=${token}`, { redirect: 'manual' });
  expect(spent.status).toBe(302);
  const page = await bankPage(allowed, '109', token);
  await page.getByRole('button').click(); // the popup posts and closes itself at once
  await expect(outcome(page)).resolves.toEqual({
    kind: 'error',
    detail: { status: 'error', provider: 'xt', state: ANY_STATE, error: 'link_expired' },
  });
  const message = ((await seen(page)) as { kind: string; data: Record<string, unknown> }[]).find(
    (s) => s.kind === 'message' && s.data?.type === 'xt-connect',
  )!;
  expect(Object.keys(message.data).sort()).toEqual(['error', 'provider', 'state', 'status', 'type']);
  await page.context().close();
});

test('a forged link: no message reaches the page (it sees the popup as closed, as before)', async () => {
  const forged = await linkToken('110', { aud: base, secret: 'another-secret-that-is-long-enough-000000' });
  const page = await bankPage(allowed, '110', forged);
  await openPopup(page);
  const got = await outcome(page);
  expect(got).toEqual({ kind: 'exit', detail: { status: 'closed', provider: 'xt', state: ANY_STATE } });
  expect(((await seen(page)) as { kind: string }[]).filter((s) => s.kind === 'message')).toEqual([]);
  await page.context().close();
});

test('a page on an origin not in EMBED_ORIGINS cannot load the script and gets no message', async () => {
  const page = await bankPage(other, '104');
  await expect(page.evaluate(() => (window as unknown as { loaded: string }).loaded)).resolves.toBe('no');
  // Opening the popup by hand: as itself the login refuses it; posing as the allowed origin, the
  // popup's message is addressed to that origin only, so the browser never delivers it here.
  for (const origin of [other.origin, allowed.origin]) {
    const q = new URLSearchParams({ link: await link('104'), popup: '1', origin, state: 's1' });
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.evaluate((url) => void window.open(url, '_blank', 'popup'), `${base}/auth/xt/login?${q}`),
    ]);
    await popup.waitForLoadState();
    if (origin === allowed.origin) await popup.getByRole('button', { name: 'Authorize' }).click();
    await page.waitForTimeout(500);
  }
  await expect(seen(page)).resolves.toEqual([]);
  await page.context().close();
});

test('popups blocked: the page goes to the login itself, and back to the embed page (its returnTo) after approving', async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  await context.addInitScript(() => {
    window.open = () => null; // what a popup blocker gives a script
  });
  const page = await context.newPage();
  await page.goto(`${allowed.origin}/?link=${await link('105')}`);
  await page.waitForFunction(() => (window as unknown as { loaded?: string }).loaded === 'yes');
  // The institution's page, on an EMBED_ORIGINS origin, is where the person comes back to.
  const back = `${allowed.origin}/?back=1`;
  await page.evaluate((url) => document.getElementById('connect')!.setAttribute('return-to', url), back);
  await page.getByRole('button').click();
  await page.waitForURL(/\/accounts\/oauth2/);
  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL(back);
  await context.close();
});

test('axe finds nothing serious or critical in the button or the popup pages', async () => {
  const page = await bankPage(allowed, '106');
  const blocking = async (p: Page) =>
    (await axe(p)).filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
  await expect(blocking(page)).resolves.toEqual([]);
  const popup = await openPopup(page);
  await expect(blocking(popup)).resolves.toEqual([]); // the stand-in's page is XT.COM's; ours follow
  await popup.close();
  // The popup's end pages, opened without an opener so that they stay: connected, then declined.
  for (const [sub, decision] of [
    ['107', 'Authorize'],
    ['108', 'Deny'],
  ] as const) {
    const direct = await page.context().newPage();
    const q = new URLSearchParams({ link: await link(sub), popup: '1', origin: allowed.origin, state: 's2' });
    await direct.goto(`${base}/auth/xt/login?${q}`);
    await direct.getByRole('button', { name: decision }).click();
    await direct.locator('.xt-popup-done').waitFor();
    await expect(blocking(direct)).resolves.toEqual([]);
  }
  await page.context().close();
}, 90_000); // four pages, each checked by axe: slow on a loaded 2-core machine

test("the button's default text speaks the page's language (its own lang, else the nearest one)", async () => {
  const page = await bankPage(allowed, 'user-lang');
  const names = await page.evaluate(() => {
    const add = (where: Element, lang?: string) => {
      const el = document.createElement('xt-connect-button');
      if (lang) el.setAttribute('lang', lang);
      return where.appendChild(el);
    };
    const labels = [add(document.body, 'th'), add(document.body, 'zh-TW'), add(document.body, 'es-MX')];
    document.documentElement.lang = 'ja';
    labels.push(add(document.body), add(document.body, 'fr'));
    return labels.map((el) => el.shadowRoot!.querySelector('slot')!.textContent);
  });
  expect(names).toEqual(['เชื่อมต่อ XT.COM', '連接 XT.COM', 'Conectar XT.COM', 'XT.COMと連携', 'Connect XT.COM']);
  await page.context().close();
});

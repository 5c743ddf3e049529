/**
 * GET /docs/api in a real browser (Debian's Chromium): Swagger UI renders the contract's operations
 * from /v1/openapi.json under the app's own CSP with no violation at all, no console error, no
 * request to any origin but the app's, and nothing serious or critical for axe. Its screenshot, in
 * test/artifacts, is the one docs/api-reference.png shows (docs/integration.md).
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { REFERENCE_PATH } from '../../src/routes/reference.js';
import { ARTIFACTS, axe } from '../helpers/browser.js';
import { type BrowserSite, startBrowserSite, stopBrowserSite } from '../helpers/browserSite.js';

describe('the rendered contract at /docs/api', () => {
  let site: BrowserSite | undefined;
  beforeAll(async () => {
    site = await startBrowserSite();
  }, 60_000);
  afterAll(() => stopBrowserSite(site));

  /** Opens the page, keeping every CSP violation, console error and request the page makes. */
  async function open(page: Page) {
    const seen = { violations: [] as string[], errors: [] as string[], requests: [] as string[] };
    await page.exposeFunction('__cspViolation', (v: string) => void seen.violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const report = (window as unknown as { __cspViolation: (v: string) => void }).__cspViolation;
        void report(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    page.on('console', (m) => void (m.type() === 'error' && seen.errors.push(m.text())));
    page.on('pageerror', (e) => void seen.errors.push(e.message));
    page.on('request', (r) => void seen.requests.push(r.url()));
    const res = await page.goto(`${site!.base}${REFERENCE_PATH}`);
    expect(res?.status()).toBe(200);
    return seen;
  }

  test('renders every operation under our CSP: no violation, no error, no other origin, nothing serious for axe', async () => {
    const context = await site!.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    try {
      const seen = await open(page);
      const connections = page.locator('.opblock-summary-path[data-path="/v1/connections"]').first();
      await connections.waitFor({ timeout: 15_000 });
      const get = page.locator('.opblock-get', { has: connections }).locator('.opblock-summary-method');
      expect(await get.first().innerText()).toBe('GET');
      const text = await page.locator('#reference').innerText();
      for (const want of ['/v1/subjects/{sub}/xt/spot/v4/balances', '/api/xt/spot/v4/order/{orderId}', 'XtBalances'])
        expect(text).toContain(want);

      const csp = (await page.request.get(`${site!.base}${REFERENCE_PATH}`)).headers()['content-security-policy'];
      expect(csp).toContain("style-src 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|nonce-/);
      expect(seen.violations).toEqual([]);
      expect(seen.errors).toEqual([]);
      expect(seen.requests.filter((u) => !u.startsWith(`${site!.base}/`) && !u.startsWith('data:'))).toEqual([]);
      expect(seen.requests).toContain(`${site!.base}/v1/openapi.json`);

      const findings = (await axe(page)).filter((f) => f.impact === 'serious' || f.impact === 'critical');
      expect(findings).toEqual([]);
      // docs/api-reference.png is this screenshot, copied from test/artifacts when the page changes.
      await page.screenshot({ path: path.join(ARTIFACTS, 'api-reference.png') });
    } finally {
      await context.close();
    }
  }, 60_000);
});

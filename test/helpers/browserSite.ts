/**
 * The site the browser tests (test/browser/) walk: the real server (src/server.ts) on a free port,
 * on SQLite, with the XT.COM stand-in and an OIDC stand-in labelled Tencent Cloud CIAM, and
 * Debian's Chromium to use it. Stopped, it checks everything the app logged meanwhile.
 */
import type { Browser } from 'playwright-core';
import { type Env, loadConfig } from '../../src/config/index.js';
import { type Running, start } from '../../src/server.js';
import { OIDC_CLIENTS, type OidcStandIn, startOidcStandIn } from '../../standins/oidc.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { launchChromium } from './browser.js';
import { LogCapture, SESSION_SECRET, TEST_SECRET, scanLogs, tempDir, xtEnv } from './harness.js';
import { freePort } from './ports.js';

/** SITE_NAME, as the header shows it. */
export const SITE = 'Example Exchange Partner';

export interface BrowserSite {
  browser: Browser;
  xt: XtStandIn;
  ciam: OidcStandIn;
  app: Running;
  /** The site's origin, `http://127.0.0.1:<port>`. */
  base: string;
  logs: LogCapture;
}

/**
 * Starts the stand-ins, the server and Chromium; whatever started is stopped again if one fails.
 * `env` adds settings (EMBED_ORIGINS, LINK_SECRET, …) to the site's own.
 */
export async function startBrowserSite(env: Env = {}): Promise<BrowserSite> {
  const site: Partial<BrowserSite> = { logs: new LogCapture() };
  try {
    const xt = (site.xt = await startXtStandIn({ clientSecret: TEST_SECRET }));
    const port = await freePort();
    const base = (site.base = `http://127.0.0.1:${port}`);
    const ciam = (site.ciam = await startOidcStandIn({
      redirectUris: [`${base}/auth/oidc/callback`],
      postLogoutRedirectUris: [`${base}/`],
    }));
    const client = OIDC_CLIENTS.basic;
    site.app = await start(
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
          ...env,
        }),
      ),
      '127.0.0.1',
      { logDestination: site.logs },
    );
    site.browser = await launchChromium();
    return site as BrowserSite;
  } catch (err) {
    await close(site);
    throw err;
  }
}

async function close(site: Partial<BrowserSite>): Promise<void> {
  await site.browser?.close();
  await site.app?.stop();
  await site.ciam?.close();
  await site.xt?.close();
}

/** Stops all of it; then everything the app logged while a real browser used it: no secret, token or code. */
export async function stopBrowserSite(site: BrowserSite | undefined): Promise<void> {
  if (!site) return;
  await close(site);
  const { logs, xt, ciam } = site;
  expect(logs.lines.length).toBeGreaterThan(10);
  scanLogs(logs, [TEST_SECRET, SESSION_SECRET, OIDC_CLIENTS.basic.clientSecret, ...xt.issued(), ...ciam.issued()]);
}

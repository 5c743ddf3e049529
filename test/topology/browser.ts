/**
 * 1. Chromium through nginx: connect XT.COM (the callback served by one replica), stop that
 * replica, and the refresh and the disconnect are served by the other (each told apart by the
 * request id in that replica's own log).
 */
import fs from 'node:fs';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/browser.js';
import { check, sleep, waitFor } from './common.js';
import { logLines, servedBy } from './observe.js';
import { type Replica, type Topology, startReplica, stopReplica } from './topology.js';

let browserToClose: { close(): Promise<void> } | undefined;

/** Closes the browser if the run ends while it is open. */
export async function closeBrowser(): Promise<void> {
  await browserToClose?.close().catch(() => undefined);
}

/** The browser's session as /api/session tells it. */
type SessionJson = { connected: boolean; accessTokenExpiresAt: string | null };

/** What the steps of the walk share. */
interface Walk {
  t: Topology;
  page: Page;
  sessionJson: () => Promise<SessionJson>;
  /** Refresh grants of the stand-in's user 12345678 so far. */
  userRefreshes: () => Promise<number>;
}

/** The walk; which replica served each step, for the report. */
export async function chromiumAcrossReplicas(t: Topology): Promise<Record<string, string>> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM} (scripts/test-deps.sh installs it)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  browserToClose = browser;
  const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const walk: Walk = {
    t,
    page,
    sessionJson: sessionJsonOf(context, t.base),
    userRefreshes: async () => (await t.stats()).xt.refreshTokens.byUser['12345678'] ?? 0,
  };
  const connected = await connect(walk);
  const refreshed = await refreshOnTheOther(walk, connected.on);
  const disconnected = await disconnectOnTheOther(walk, refreshed.other);
  check(errors.length === 0, `Chromium: no console errors (${errors.join('; ') || 'none'})`);
  const browserFacts = {
    callback: `replica ${connected.on.name} (request ${connected.reqId})`,
    refresh: `replica ${refreshed.on.name} (request ${refreshed.reqId})`,
    disconnect: `replica ${disconnected.on.name} (request ${disconnected.reqId})`,
  };
  await browser.close();
  browserToClose = undefined;
  await startReplica(connected.on);
  return browserFacts;
}

const sessionJsonOf = (context: BrowserContext, base: string) => async () =>
  (await (await context.request.get(`${base}/api/session`)).json()) as SessionJson;

/** Home → Connect XT.COM → Authorize at the stand-in → the account page; the replica that served the callback. */
async function connect({ t, page }: Walk): Promise<{ on: Replica; reqId: string }> {
  await page.goto(`${t.base}/`);
  await page.getByRole('link', { name: 'Connect XT.COM' }).click();
  await page.waitForURL(/\/en\/accounts\/oauth2/);
  const callback = page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/xt/callback');
  await page.getByRole('button', { name: 'Authorize' }).click();
  const callbackReqId = (await callback).headers()['x-request-id'] ?? '';
  await page.waitForURL(`${t.base}/account`);
  const uid = await page.locator('.uid').first().textContent();
  check(uid === '12345678', `Chromium: connected through nginx as the stand-in's user (${uid})`);
  return { on: await servedBy(t.replicas, callbackReqId), reqId: callbackReqId };
}

/** The connecting replica stops; once the token has expired, the account page is served (and refreshed) by the other. */
async function refreshOnTheOther(
  { t, page, sessionJson, userRefreshes }: Walk,
  connectedOn: Replica,
): Promise<{ on: Replica; reqId: string; other: Replica }> {
  const other = t.replicas.find((r) => r !== connectedOn)!;
  const before = await sessionJson();
  const refreshesBefore = await userRefreshes();

  // The replica that made the connection goes away (SIGTERM, drained, exited).
  const code = await stopReplica(connectedOn);
  check(
    code === 0,
    `Chromium: replica ${connectedOn.name}, which served the callback, stopped on SIGTERM with exit code 0 (${code})`,
  );
  const otherLogFrom = other.proc.out.length;

  // Once the access token has expired, the account page is served (and refreshed) by the other. Not
  // earlier: the refresh margin is min(REFRESH_SKEW, 10 % of the token's life), and with a second-granular
  // `exp` that is a little under 1.5 s here, so "skew minus a bit" could land just before it (a flake seen in CI).
  const due = Date.parse(before.accessTokenExpiresAt ?? '') + 300;
  await sleep(Math.max(0, due - Date.now()));
  const account = await page.goto(`${t.base}/account`);
  const accountReqId = account?.headers()['x-request-id'] ?? '';
  const refreshedOn = await servedBy(t.replicas, accountReqId);
  await waitFor('the refresh at the stand-in', 5000, async () => (await userRefreshes()) > refreshesBefore);
  await sleep(500);
  const refreshes = (await userRefreshes()) - refreshesBefore;
  const refreshLines = logLines(other.proc.out.slice(otherLogFrom), (o) => o.msg === 'tokens refreshed').length;
  const after = await sessionJson();
  check(
    refreshedOn === other &&
      refreshes === 1 &&
      refreshLines >= 1 &&
      after.connected &&
      after.accessTokenExpiresAt !== before.accessTokenExpiresAt,
    `Chromium: the refresh was served by replica ${refreshedOn.name} (the other one): ${refreshes} refresh at the stand-in, new expiry ${after.accessTokenExpiresAt}`,
  );
  return { on: refreshedOn, reqId: accountReqId, other };
}

/** Disconnect (POST /auth/xt/logout), served by the other replica, audited in its log; the session is no longer connected. */
async function disconnectOnTheOther({ t, page, sessionJson }: Walk, other: Replica) {
  const logout = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/auth/xt/logout' && r.request().method() === 'POST',
  );
  await page.getByRole('button', { name: 'Disconnect' }).click();
  const logoutReqId = (await logout).headers()['x-request-id'] ?? '';
  await page.waitForURL(`${t.base}/`);
  const disconnectedOn = await servedBy(t.replicas, logoutReqId);
  const audit = logLines(
    other.proc.out,
    (o) => o.audit === true && o.event === 'disconnected' && o.reqId === logoutReqId,
  );
  const afterLogout = await sessionJson();
  check(
    disconnectedOn === other && audit.length === 1 && !afterLogout.connected,
    `Chromium: the disconnect was served by replica ${disconnectedOn.name} (audit "disconnected" in its log), and the session is no longer connected`,
  );
  return { on: disconnectedOn, reqId: logoutReqId };
}

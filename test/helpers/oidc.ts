/**
 * Test harness for the OIDC dialect: the exported app against the oidc-provider stand-in for
 * Tencent Cloud CIAM, with a movable app clock, captured logs, and a plain-HTTP "browser"
 * that goes through the stand-in's sign-in page. Its close() runs the same secret scan as
 * the XT.COM harness's (harness.ts), once.
 *
 * The stand-in has its standard logout features on here (CIAM has neither): RP-Initiated Logout,
 * and Back-Channel Logout to the app, which listens on a loopback port of its own for that.
 */
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as jose from 'jose';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { type AppOptions, type BuiltApp, createApp } from '../../src/app.js';
import { type Config, type Env, loadConfig } from '../../src/config/index.js';
import { OidcProvider } from '../../src/providers/oidc/provider.js';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/providers/oidc/logout.js';
import type { ConnectionRecord } from '../../src/session/connections/index.js';
import {
  OIDC_CLIENTS,
  type OidcStandIn,
  type OidcStandInOptions,
  type StandInClient,
  startOidcStandIn,
} from '../../standins/oidc.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { testClock } from './clock.js';
import { BASE_ENV, LogCapture, SESSION_SECRET, TEST_SECRET, configSecrets, scanLogs, xtEnv } from './harness.js';

export type ClientKind = keyof typeof OIDC_CLIENTS;

export function oidcEnv(issuer: string, client: StandInClient, extra: Env = {}): Env {
  return {
    ...BASE_ENV,
    XT_ENABLED: 'false',
    OIDC_ISSUER: issuer,
    OIDC_CLIENT_ID: client.clientId,
    OIDC_CLIENT_SECRET: client.clientSecret,
    OIDC_LABEL: 'Tencent Cloud CIAM',
    PROVIDER_TIMEOUT: '1000ms',
    ...extra,
  };
}

export interface OidcHarness {
  oidc: OidcStandIn;
  xt?: XtStandIn;
  client: StandInClient;
  built: BuiltApp;
  config: Config;
  provider: OidcProvider;
  logs: LogCapture;
  agent: TestAgent;
  /** Moves the app's clock (not the stand-in's): access tokens age without waiting. */
  advance(ms: number): void;
  /** The decrypted OIDC connection record of the last session that connected. */
  stored(): Promise<ConnectionRecord | null>;
  /** Every value that must never show up in a log line or a page. */
  secrets(): string[];
  /** The stand-in's cookies of the harness's "browser" (its session there: sign-in, then logout). */
  opJar: CookieJar;
  /** Where the app listens for the stand-in's back-channel logouts (its backchannel_logout_uri's origin). */
  appUrl: string;
  /** Stops the app and the stand-ins, then scans the logs for secrets. Once; later calls do nothing. */
  close(): Promise<void>;
}

/** A browser's cookies at the stand-in. */
export type CookieJar = Map<string, string>;

export interface OidcHarnessOptions {
  client?: ClientKind;
  /** Extra settings; a function gets the running stand-in (for OIDC_LOGOUT_URL, say). */
  env?: Env | ((oidc: OidcStandIn) => Env);
  app?: AppOptions;
  standIn?: OidcStandInOptions;
  /** Point the app somewhere else (a closed port, say) instead of at the stand-in. */
  issuer?: string | ((oidc: OidcStandIn) => string);
  /** Also configure XT.COM (with its own stand-in), as in production. */
  withXt?: boolean;
  /** Wait for the first discovery attempt to settle (default true). */
  awaitDiscovery?: boolean;
}

/** A server on a free loopback port that answers 503 until the app takes over its requests. */
async function holdPort(): Promise<Server> {
  const server = createServer((_req, res) => void res.writeHead(503).end());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

export async function startOidcHarness(opts: OidcHarnessOptions = {}): Promise<OidcHarness> {
  // The app's port, held from the start: a port found free and listened on only once the app is
  // built could be taken meanwhile by another test file's server (EADDRINUSE).
  const server = await holdPort();
  const appPort = (server.address() as AddressInfo).port;
  const appUrl = `http://127.0.0.1:${appPort}`;
  const oidc = await startOidcStandIn({
    rpInitiatedLogout: true,
    backchannelLogoutUri: `${appUrl}/auth/oidc/backchannel-logout`,
    ...opts.standIn,
  });
  const xt = opts.withXt ? await startXtStandIn({ clientSecret: TEST_SECRET }) : undefined;
  const client: StandInClient = OIDC_CLIENTS[opts.client ?? 'basic'];
  const issuer = typeof opts.issuer === 'function' ? opts.issuer(oidc) : (opts.issuer ?? oidc.issuer);
  const extra = typeof opts.env === 'function' ? opts.env(oidc) : opts.env;
  const env = { ...(xt ? xtEnv(xt) : {}), ...oidcEnv(issuer, client), ...(xt ? { XT_ENABLED: 'true' } : {}), ...extra };
  const config = loadConfig(env);
  const logs = new LogCapture();
  const clock = testClock();
  // The owner id of the last login, told by the app's test hook (the owner never leaves the server).
  let owner: string | undefined;
  const built = await createApp(config, {
    logDestination: logs,
    now: clock.now,
    backoffBaseMs: 50,
    ...opts.app,
    onConnected: (o, p) => {
      owner = o;
      opts.app?.onConnected?.(o, p);
    },
  });
  const provider = built.ctx.providers.get('oidc') as OidcProvider;
  if (opts.awaitDiscovery !== false) await provider.whenReady();
  // The app on a real port too, for the stand-in's back-channel logout calls.
  server.removeAllListeners('request');
  server.on('request', built.app);
  const secrets = () => [
    client.clientSecret ?? '',
    OIDC_CLIENTS.basic.clientSecret,
    OIDC_CLIENTS.post.clientSecret,
    SESSION_SECRET,
    TEST_SECRET,
    ...oidc.issued(),
    ...(xt?.issued() ?? []),
    ...configSecrets(config),
  ];
  let closed = false;

  return {
    oidc,
    xt,
    client,
    built,
    config,
    provider,
    logs,
    agent: request.agent(built.app),
    advance: clock.advance,
    stored: async () => (owner ? built.ctx.connections.read(owner, 'oidc') : null),
    secrets,
    opJar: new Map(),
    appUrl,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      provider.close();
      await built.close();
      await oidc.close();
      await xt?.close();
      scanLogs(logs, secrets());
    },
  };
}

const cookieHeader = (jar: CookieJar) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

function rememberCookies(jar: CookieJar, res: Response): void {
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1);
    if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
}

/**
 * A browser without a browser: follows the authorization request through the stand-in's
 * sign-in page, presses Approve (or Deny), and returns our callback's path and query. With `jar`,
 * the stand-in's cookies (its session) are kept there, for a later logout.
 */
export async function authorizeAtOidcStandIn(
  authorizeUrl: string,
  decision: 'approve' | 'deny' = 'approve',
  jar: CookieJar = new Map(),
): Promise<string> {
  const cookie = () => cookieHeader(jar);
  const remember = (res: Response) => rememberCookies(jar, res);
  let url = new URL(authorizeUrl);
  const origin = url.origin;
  for (let hop = 0; hop < 10; hop++) {
    let res = await fetch(url, { redirect: 'manual', headers: { cookie: cookie() } });
    remember(res);
    if (res.status === 200 && url.pathname.startsWith('/interaction/')) {
      const page = await res.text();
      if (!page.includes('Approve')) throw new Error('the sign-in page has no Approve button');
      res = await fetch(new URL(`${url.pathname}/${decision}`, origin), {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      remember(res);
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location)
      throw new Error(`the stand-in answered ${res.status} at ${url.pathname}: ${(await res.text()).slice(0, 200)}`);
    const next = new URL(location, url);
    if (next.origin !== origin) return next.pathname + next.search; // back at our callback
    url = next;
  }
  throw new Error('too many redirects at the stand-in');
}

/** Runs login → sign-in → callback on `agent` (with `link`: a linked login; with `jar`: the stand-in's cookies kept). Returns the callback response. */
export async function connectOidc(
  agent: TestAgent,
  opts: { decision?: 'approve' | 'deny'; link?: string; jar?: CookieJar } = {},
) {
  const login = await agent.get(
    `/auth/oidc/login${opts.link !== undefined ? `?link=${encodeURIComponent(opts.link)}` : ''}`,
  );
  if (login.status !== 302) throw new Error(`login answered ${login.status}`);
  return agent.get(await authorizeAtOidcStandIn(login.headers.location!, opts.decision, opts.jar));
}

/**
 * The browser at the stand-in's end_session_endpoint (RP-Initiated Logout): its confirmation page,
 * "Yes, sign me out", and the redirect back. Returns where the stand-in sends the browser (an
 * absolute URL), after it has sent its back-channel logouts.
 */
export async function endSessionAtOidcStandIn(endSessionUrl: string, jar: CookieJar): Promise<URL> {
  const url = new URL(endSessionUrl);
  const page = await fetch(url, { redirect: 'manual', headers: { cookie: cookieHeader(jar) } });
  rememberCookies(jar, page);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`end_session answered ${page.status}: ${html.slice(0, 200)}`);
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !xsrf) throw new Error('the logout page has no form');
  const confirm = await fetch(new URL(action.replace(/&amp;/g, '&'), url), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookieHeader(jar), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  rememberCookies(jar, confirm);
  const location = confirm.headers.get('location');
  if (confirm.status < 300 || confirm.status >= 400 || !location)
    throw new Error(`the logout confirmation answered ${confirm.status}`);
  return new URL(location, url);
}

/** A token endpoint call made directly (not through the app), authenticated as `client`. */
export async function tokenRequest(
  oidc: OidcStandIn,
  client: StandInClient,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.tokenAuth === 'client_secret_basic') {
    const creds = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret ?? '')}`;
    headers.authorization = `Basic ${Buffer.from(creds).toString('base64')}`;
  } else {
    form.set('client_id', client.clientId);
    if (client.clientSecret) form.set('client_secret', client.clientSecret);
  }
  const res = await fetch(`${oidc.issuer}/oauth2/token`, { method: 'POST', headers, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * A back-channel logout token as the provider would sign it, with `change` merged over its claims
 * (undefined drops one); `nowMs` is the clock it is issued by (the app's own, under a test clock).
 */
export async function logoutToken(
  hh: Pick<OidcHarness, 'oidc' | 'client'>,
  change: Record<string, unknown> = {},
  header: Partial<jose.JWTHeaderParameters> = {},
  nowMs: number = Date.now(),
): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  const claims: Record<string, unknown> = {
    iss: hh.oidc.issuer,
    aud: hh.client.clientId,
    iat: now,
    exp: now + 120,
    jti: randomBytes(12).toString('base64url'),
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...change,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return hh.oidc.signJwt(claims, header);
}

/**
 * Test harness: the exported app against a real XT.COM stand-in on a loopback port, with
 * every log line captured so tests (and close()) can search it for secrets.
 *
 * Every harness (this one and the OIDC one in oidc.ts) runs the same secret scan, once, in its
 * close(): no secret, token or code in any log line, and no raw token URL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { type AppOptions, type BuiltApp, createApp } from '../../src/app.js';
import { type Config, type Env, loadConfig } from '../../src/config/index.js';
import { type XtStandIn, type XtStandInOptions, startXtStandIn } from '../../standins/xt.js';
import type { AppError } from '../../src/errors.js';
import type { XtApi } from '../../src/services/xtApi.js';
import { internalListener } from '../../src/routes/internal.js';

export const TEST_SECRET = 'xt-client-secret-0123456789abcdef';
export const SESSION_SECRET = 'test-session-secret-that-is-long-enough-0123';

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export function tempDir(prefix = 'xtc-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** GET /readyz on the metrics listener (the store, why not ready, the webhook outbox), served in-process. */
export const detailedReadyz = (built: BuiltApp) => request(internalListener(built.ctx)).get('/readyz');

/** Settings every test app shares: debug logs (so the secret checks see everything), a memory store. */
export const BASE_ENV: Env = {
  NODE_ENV: 'test',
  PUBLIC_URL: 'http://127.0.0.1:3999',
  SESSION_SECRET,
  SESSION_STORE: 'memory',
  LOG_LEVEL: 'debug',
  AUTH_RATE_LIMIT: '100000', // the rate-limit tests set their own
};

export function xtEnv(xt: { url: string }, extra: Env = {}): Env {
  return {
    ...BASE_ENV,
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: TEST_SECRET,
    XT_AUTHORIZE_URL: `${xt.url}/{lang}/accounts/oauth2`,
    XT_TOKEN_URL: `${xt.url}/public/uaa/oauth2/token`,
    XT_API_URL: xt.url,
    PROVIDER_TIMEOUT: '1500ms',
    ...extra,
  };
}

export interface Harness {
  xt: XtStandIn;
  built: BuiltApp;
  config: Config;
  logs: LogCapture;
  agent: TestAgent;
  /** Every value that must never show up in a log line or a page. */
  secrets(): string[];
  /** Stops the app (and its own stand-in), then scans the logs for secrets. Once; later calls do nothing. */
  close(): Promise<void>;
}

export interface HarnessOptions {
  xt?: XtStandInOptions;
  env?: Env;
  app?: AppOptions;
  /** Reuse a running stand-in (for restart tests). */
  standIn?: XtStandIn;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const xt = opts.standIn ?? (await startXtStandIn({ clientSecret: TEST_SECRET, ...opts.xt }));
  const config = loadConfig(xtEnv(xt, opts.env));
  const logs = new LogCapture();
  const built = await createApp(config, { logDestination: logs, ...opts.app });
  const agent = request.agent(built.app);
  // xt.issued() also holds the stand-in's API secret and every signature and signed string it saw.
  const secrets = () => [
    TEST_SECRET,
    SESSION_SECRET,
    ...(config.xt ? [config.xt.apiSecret] : []),
    ...configSecrets(config),
    ...xt.issued(),
  ];
  let closed = false;
  return {
    xt,
    built,
    config,
    logs,
    agent,
    secrets,
    async close() {
      if (closed) return;
      closed = true;
      await built.close();
      if (!opts.standIn) await xt.close();
      scanLogs(logs, secrets());
    },
  };
}

/** The secrets a configuration holds: the session secrets and subject keys, the link secrets, the service API keys, the webhook secrets. */
export function configSecrets(config: Config): string[] {
  return [
    ...config.session.secrets,
    ...config.session.subjectKeys,
    ...(config.integration.link?.secrets ?? []),
    ...(config.integration.service?.keys.map((k) => k.key) ?? []),
    ...(config.integration.webhooks?.secrets.flatMap((s) => [s, s.slice('whsec_'.length)]) ?? []),
  ];
}

/**
 * The secret scan every harness runs once, in close(): every test that used a harness also
 * proves that no secret, token or code reached a log line, nor a token URL with its query.
 */
export function scanLogs(logs: LogCapture | string, secrets: string[]): void {
  const text = typeof logs === 'string' ? logs : logs.text();
  assertNoSecrets(text, secrets);
  if (/oauth2\/token\?/.test(text)) throw new Error('the raw token URL reached a log line');
}

/** Follows the XT.COM stand-in's Authorize (or Deny) button and returns the callback path+query. */
export async function authorizeAtStandIn(
  authorizeUrl: string,
  decision: 'approve' | 'deny' = 'approve',
  asUser?: string,
): Promise<string> {
  const url = new URL(authorizeUrl);
  const page = await fetch(url);
  if (page.status !== 200) throw new Error(`authorization page answered ${page.status}`);
  const form = new URLSearchParams();
  for (const k of ['client_id', 'redirect_uri', 'scope', 'state']) form.set(k, url.searchParams.get(k) ?? '');
  form.set('decision', decision);
  if (asUser !== undefined) form.set('as_user', asUser);
  const res = await fetch(new URL(`${url.pathname}/decision`, url), { method: 'POST', body: form, redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`decision answered ${res.status}`);
  const back = new URL(location);
  return back.pathname + back.search;
}

/** Runs login → authorize → callback on `agent` (with `link`: a linked login). Returns the callback response. */
export async function connectXt(
  agent: TestAgent,
  opts: { returnTo?: string; decision?: 'approve' | 'deny'; link?: string; asUser?: string } = {},
) {
  const q = new URLSearchParams();
  if (opts.returnTo !== undefined) q.set('returnTo', opts.returnTo);
  if (opts.link !== undefined) q.set('link', opts.link);
  const login = await agent.get(`/auth/xt/login${q.size ? `?${q.toString()}` : ''}`);
  if (login.status !== 302) throw new Error(`login answered ${login.status}`);
  const callback = await authorizeAtStandIn(login.headers.location!, opts.decision, opts.asUser);
  return agent.get(callback);
}

/** Disconnects XT.COM with the Disconnect form of /account, as a person would; returns the answer. */
export async function disconnectXt(agent: TestAgent) {
  const account = await agent.get('/account');
  return agent
    .post('/auth/xt/logout')
    .type('form')
    .send({ _csrf: formToken(account.text) });
}

export function assertNoSecrets(text: string, secrets: string[]): void {
  for (const s of secrets) {
    if (s && text.includes(s)) throw new Error(`a secret leaked: ${s.slice(0, 6)}…`);
  }
}

/** The one form-token helper: the CSRF token of the forms on a rendered page. */
export function formToken(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('no form token on the page');
  return m[1];
}

/** The session cookie (`name=value`) a response sets, for requests made outside the agent. */
export function sidCookie(res: { headers: Record<string, string | string[] | undefined> }): string {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => /^(xtc\.sid|__Host-xtc)=/.test(c));
  if (!set) throw new Error('the response sets no session cookie');
  return set.split(';')[0]!;
}

/** The error code of an error page (its `data-error`), so tests need not read its English text. */
export function errorCode(html: string): string | undefined {
  return /data-error="([^"]+)"/.exec(html)?.[1];
}

/** The shape of `GET /api/session`, for tests that read it (supertest bodies are untyped). */
export interface SessionJson {
  connected: boolean;
  provider: string | null;
  userId: string | null;
  scope: string | null;
  accessTokenExpiresAt: string | null;
  reason?: string;
  csrfToken?: string | null;
  error?: { code: string; next: string };
  /** Each configured provider's state (tests read the ones they configured). */
  providers: { xt: ProviderJson; oidc: ProviderJson };
}

export interface ProviderJson {
  connected: boolean;
  reason?: string;
  userId: string | null;
  scope: string | null;
  accessTokenExpiresAt: string | null;
  refreshTokenExpiresAt: string | null;
  lastRefreshedAt: string | null;
  claims?: Record<string, string>;
}

/** A response's JSON body, read as `/api/session`'s shape. */
export const sessionJson = (res: { body: unknown }): SessionJson => res.body as SessionJson;

/** A harness with one person connected to XT.COM: the harness, the app's XT.COM client, and that person's private owner id. */
export async function startConnectedXt(opts: HarnessOptions = {}): Promise<{ h: Harness; api: XtApi; owner: string }> {
  let owner = '';
  const h = await startHarness({ ...opts, app: { ...opts.app, onConnected: (o) => (owner = o) } });
  expect((await connectXt(h.agent)).status).toBe(303);
  return { h, api: h.built.ctx.xtApi!, owner };
}

/** The AppError a promise rejects with (undefined when it resolves). */
export const rejection = (p: Promise<unknown>): Promise<AppError | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => e as AppError,
  );

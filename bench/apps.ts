/**
 * What the HTTP benchmarks measure and log in through: the built app (as the image runs it) and
 * the XT.COM stand-in, each its own process on a free 127.0.0.1 port, and a real login through them.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMAGE_NODE_OPTIONS } from '../test/helpers/image.js';
import { freePort } from '../test/helpers/ports.js';
import { type Proc, TSX, startProcess } from './lib.js';

/** A client secret for one run (the stand-in and the app are given the same one). */
export const benchClientSecret = (): string => `bench-client-secret-${randomBytes(8).toString('hex')}`;

/**
 * The built server of the checkout at `root`: the bundle (dist/server.js), or, for an OLD commit
 * built before the bundle, tsc's dist/src/server.js.
 */
export function serverEntry(root: string): string {
  const bundle = path.join(root, 'dist/server.js');
  return fs.existsSync(bundle) ? bundle : path.join(root, 'dist/src/server.js');
}

/**
 * The app's environment in every benchmark: production mode, SQLite in a fresh directory, logs at
 * warn, limits lifted so they are not what is measured, XT.COM at the stand-in `xt`.
 */
export function benchAppEnv(port: number, xt: string, clientSecret: string, label: string): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'production',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SESSION_SECRET: randomBytes(32).toString('hex'),
    SESSION_STORE: 'sqlite',
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), `xtc-bench-${label}-`)),
    LOG_LEVEL: 'warn',
    AUTH_RATE_LIMIT: '100000',
    XT_CLIENT_ID: 'bench-client',
    XT_CLIENT_SECRET: clientSecret,
    XT_AUTHORIZE_URL: `${xt}/{lang}/accounts/oauth2`,
    XT_TOKEN_URL: `${xt}/public/uaa/oauth2/token`,
    XT_API_URL: xt,
    XT_API_IP_LIMIT: '100000',
    // The runtime settings the Docker image runs with (its ENV NODE_OPTIONS: the heap limit that sizes V8's growth).
    NODE_OPTIONS: IMAGE_NODE_OPTIONS,
  };
}

/** The XT.COM stand-in (bench/servers/xt-standin.ts under tsx) on a free port; its `url` is XT.COM's base. */
export async function startXtStandInProcess(clientSecret: string): Promise<Proc> {
  return startProcess(TSX, ['bench/servers/xt-standin.ts', String(await freePort())], {
    XT_CLIENT_SECRET: clientSecret,
  });
}

/**
 * The built app of the checkout at `root` on a free port, with XT.COM at the stand-in `xt`
 * (benchAppEnv, and `extraEnv` over it), ready once /healthz answers. `env` is what it was given.
 */
export async function startBuiltApp(
  root: string,
  xt: string,
  clientSecret: string,
  label: string,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Proc & { env: NodeJS.ProcessEnv }> {
  const port = await freePort();
  const env = { ...benchAppEnv(port, xt, clientSecret, label), ...extraEnv };
  const proc = await startProcess(process.execPath, [serverEntry(root)], env, { health: `http://127.0.0.1:${port}` });
  return Object.assign(proc, { env });
}

/** The XT.COM stand-in's Authorize, approved as user `10_000_000 + user`: the callback URL it sends the browser to. */
export async function decideAtStandIn(authorize: URL, user: number): Promise<string> {
  const form = new URLSearchParams({ decision: 'approve', as_user: String(10_000_000 + user) });
  for (const k of ['client_id', 'redirect_uri', 'scope', 'state']) form.set(k, authorize.searchParams.get(k) ?? '');
  const back = await fetch(new URL(`${authorize.pathname}/decision`, authorize), {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  if (back.status !== 302) throw new Error(`the stand-in's decision answered ${back.status}`);
  return back.headers.get('location')!;
}

/** The stand-in's token endpoint exchanging `code` (issued for `redirectUri`), as the app would call it. */
export function codeExchangeUrl(xt: string, clientSecret: string, code: string, redirectUri: string): string {
  const q = new URLSearchParams({
    client_id: 'bench-client',
    client_secret: clientSecret,
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
  });
  return `${xt}/public/uaa/oauth2/token?${q}`;
}

/** A real login at the app `app`: login → the stand-in's Authorize → callback. The session cookie, and how long the callback took. */
export async function connectXt(app: string, user: number): Promise<{ cookie: string; callbackMs: number }> {
  const login = await fetch(`${app}/auth/xt/login`, { redirect: 'manual' });
  if (login.status !== 302) throw new Error(`login answered ${login.status}`);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const back = await decideAtStandIn(new URL(login.headers.get('location')!), user);
  const t0 = performance.now();
  const callback = await fetch(back, { headers: { cookie }, redirect: 'manual' });
  const callbackMs = performance.now() - t0;
  if (callback.status !== 303) throw new Error(`callback answered ${callback.status}`);
  return { cookie: callback.headers.get('set-cookie')!.split(';')[0]!, callbackMs };
}

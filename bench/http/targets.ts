/**
 * bench/http.ts's servers and what it loads on each: every server its own process, a person logged
 * in where the server has sessions, and the URL, headers and expected answer of each target.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { authorizeAtOidcStandIn } from '../../test/helpers/oidc.js';
import { freePort } from '../../test/helpers/ports.js';
import { ROOT, TSX, Jar, type Proc, startProcess } from '../lib.js';
import { connectXt, startBuiltApp, startXtStandInProcess } from '../apps.js';

export interface Target {
  name: string;
  pid: number;
  url: string;
  headers?: Record<string, string>;
  /** What a correct answer looks like (checked once before the rounds, and in the smoke pass). */
  check: (status: number, body: string) => boolean;
}

/** The servers compared; `old` only with OLD=<a built worktree of another commit>. (A type, not an interface, so Object.entries keeps its values' type.) */
export type Servers = {
  bare: Proc;
  express: Proc;
  /** THE baseline since issue 28: the design card's minimal app (Express 5, helmet(), express-session on SQLite). */
  minimal: Proc;
  /** The baseline before issue 28: Express 5 + express-session on the same SQLite store, no helmet. */
  baseline: Proc;
  eoc: Proc;
  app: Proc;
  /** The minimal app with connect-redis, and the app with SESSION_STORE=redis, both on the bench's own redis-server. */
  minimalRedis: Proc;
  appRedis: Proc;
  /** The same build with tracing on (every request sampled), exporting to `sink` in another process. */
  traced: Proc;
  sink: Proc;
  old: Proc | undefined;
};

const isJsonConnected = (status: number, body: string) => status === 200 && /"connected":true/.test(body);
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

/**
 * The stand-ins (XT.COM, and oidc-provider for express-openid-connect), then every server in turn: bare node:http, Express alone, the minimal app (SQLite and
 * Redis), the old express-session baseline, express-openid-connect, xt-connect (SQLite, Redis, and
 * OLD's; Redis: the bench's own redis-server on loopback, `redis`), and xt-connect with tracing on, exporting every request's spans to a sink process.
 */
export async function startServers(
  clientSecret: string,
  old: string | undefined,
  redis: { url: string },
): Promise<{ xt: Proc; oidc: Proc; servers: Servers }> {
  const eocPort = await freePort();
  const { OIDC_CLIENTS } = await import('../../standins/oidc.js');
  const basic = OIDC_CLIENTS.basic;
  // Started side by side (each is its own process): the stand-ins and the sink, then every server.
  const [xt, oidc, sink] = await Promise.all([
    startXtStandInProcess(clientSecret),
    freePort().then((port) =>
      startProcess(TSX, ['bench/servers/oidc-standin.ts', String(port), `http://127.0.0.1:${eocPort}/callback`]),
    ),
    freePort().then((port) => startProcess(process.execPath, ['bench/servers/otlp-sink.mjs', String(port)])),
  ]);
  const node = (file: string, ...args: string[]) =>
    freePort().then((port) => startProcess(process.execPath, [file, String(port), ...args]));
  const servers = await allOf({
    bare: node('bench/servers/bare-http.mjs'),
    express: node('bench/servers/express-bare.mjs'),
    minimal: node('bench/servers/minimal-app.mjs', tmp('xtc-bench-minimal-')),
    minimalRedis: node('bench/servers/minimal-app.mjs', redis.url),
    baseline: node('bench/servers/express-session-sqlite.mjs', tmp('xtc-bench-baseline-')),
    eoc: startProcess(process.execPath, [
      'bench/servers/express-openid-connect.mjs',
      String(eocPort),
      oidc.url,
      basic.clientId,
      basic.clientSecret,
    ]),
    app: startBuiltApp(ROOT, xt.url, clientSecret, 'new'),
    appRedis: startBuiltApp(ROOT, xt.url, clientSecret, 'redis', { SESSION_STORE: 'redis', REDIS_URL: redis.url }),
    traced: startBuiltApp(ROOT, xt.url, clientSecret, 'traced', { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }),
    sink: Promise.resolve(sink),
    old: old ? startBuiltApp(old, xt.url, clientSecret, 'old') : Promise.resolve(undefined),
  });
  return { xt, oidc, servers };
}

/** Each of `promises`, awaited side by side, under its own name. */
async function allOf<T extends Record<string, Promise<unknown>>>(
  promises: T,
): Promise<{ [K in keyof T]: Awaited<T[K]> }> {
  const entries = await Promise.all(Object.entries(promises).map(async ([k, p]) => [k, await p] as const));
  return Object.fromEntries(entries) as { [K in keyof T]: Awaited<T[K]> };
}

/** express-openid-connect's login, followed through the oidc-provider stand-in: its appSession cookie. */
async function connectEoc(eoc: string): Promise<string> {
  const jar = new Jar();
  const login = await fetch(`${eoc}/login`, { redirect: 'manual' });
  jar.take(login);
  const back = await authorizeAtOidcStandIn(login.headers.get('location')!);
  const cb = await fetch(`${eoc}${back}`, { headers: { cookie: jar.header() }, redirect: 'manual' });
  jar.take(cb);
  if (cb.status !== 302)
    throw new Error(`express-openid-connect's callback answered ${cb.status}: ${(await cb.text()).slice(0, 200)}`);
  return jar.header();
}

/** An xt-connect build's two routes: the session JSON and the account page, as one connected person. */
function appTargets(
  label: string,
  server: { pid: number; url: string },
  cookie: string,
  accountOk: Target['check'],
): Target[] {
  return [
    {
      name: `${label} GET /api/session`,
      pid: server.pid,
      url: `${server.url}/api/session`,
      headers: { cookie },
      check: isJsonConnected,
    },
    {
      name: `${label} GET /account`,
      pid: server.pid,
      url: `${server.url}/account`,
      headers: { cookie },
      check: accountOk,
    },
  ];
}

/** A session on one of the Express session baselines (its `GET /login`): the cookie. */
const loginCookie = async (s: Proc) => (await fetch(`${s.url}/login`)).headers.get('set-cookie')!.split(';')[0]!;

/** A session baseline's `GET /api/session`, logged in. */
const sessionTarget = (name: string, s: Proc, cookie: string): Target => ({
  name,
  pid: s.pid,
  url: `${s.url}/api/session`,
  headers: { cookie },
  check: isJsonConnected,
});

/** The minimal app on Redis and xt-connect's `/api/session` on Redis: the Redis goal is the second over the first. */
export const REDIS_NAMES = {
  minimal: 'minimal app on Redis (connect-redis)',
  app: 'xt-connect on Redis GET /api/session',
};

/**
 * A person logged in on each server with sessions, then every target, in the report's order: the
 * third is the baseline (the minimal app), the fourth express-openid-connect (the peer).
 */
export async function connectTargets(servers: Servers): Promise<Target[]> {
  const eocCookie = await connectEoc(servers.eoc.url);
  const appLogin = await connectXt(servers.app.url, 1);
  const appRedisLogin = await connectXt(servers.appRedis.url, 4);
  const tracedLogin = await connectXt(servers.traced.url, 3);
  const oldLogin = servers.old ? await connectXt(servers.old.url, 2) : undefined;
  return [
    { name: 'bare node:http', pid: servers.bare.pid, url: `${servers.bare.url}/api/session`, check: isJsonConnected },
    {
      name: 'Express alone',
      pid: servers.express.pid,
      url: `${servers.express.url}/api/session`,
      check: isJsonConnected,
    },
    sessionTarget(
      'baseline: minimal app (Express + helmet() + express-session, SQLite)',
      servers.minimal,
      await loginCookie(servers.minimal),
    ),
    {
      name: 'express-openid-connect requiresAuth() JSON',
      pid: servers.eoc.pid,
      url: `${servers.eoc.url}/api/session`,
      headers: { cookie: eocCookie },
      check: isJsonConnected,
    },
    ...appTargets(
      'xt-connect',
      servers.app,
      appLogin.cookie,
      (s, b) => s === 200 && /data-state="connected"|Disconnect/.test(b),
    ),
    sessionTarget(
      'old baseline: Express + express-session (SQLite)',
      servers.baseline,
      await loginCookie(servers.baseline),
    ),
    sessionTarget(REDIS_NAMES.minimal, servers.minimalRedis, await loginCookie(servers.minimalRedis)),
    {
      name: REDIS_NAMES.app,
      pid: servers.appRedis.pid,
      url: `${servers.appRedis.url}/api/session`,
      headers: { cookie: appRedisLogin.cookie },
      check: isJsonConnected,
    },
    ...appTargets('xt-connect traced', servers.traced, tracedLogin.cookie, (s, b) => s === 200 && /Disconnect/.test(b)),
    // The old commit's account page may predate data-state: a 200 is enough there.
    ...(servers.old && oldLogin ? appTargets('xt-connect (OLD)', servers.old, oldLogin.cookie, (s) => s === 200) : []),
  ];
}

export async function checkTarget(t: Target): Promise<void> {
  const res = await fetch(t.url, { headers: t.headers });
  const body = await res.text();
  if (!t.check(res.status, body)) throw new Error(`${t.name} answered ${res.status}: ${body.slice(0, 200)}`);
}

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
  baseline: Proc;
  eoc: Proc;
  app: Proc;
  /** The same build with tracing on (every request sampled), exporting to `sink` in another process. */
  traced: Proc;
  sink: Proc;
  old: Proc | undefined;
};

const isJsonConnected = (status: number, body: string) => status === 200 && /"connected":true/.test(body);
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

/**
 * The stand-ins (XT.COM, and oidc-provider for express-openid-connect), then every server in turn:
 * bare node:http, Express alone, the express-session baseline, express-openid-connect, xt-connect
 * (and OLD's), and xt-connect with tracing on, exporting every request's spans to a sink process.
 */
export async function startServers(
  clientSecret: string,
  old: string | undefined,
): Promise<{ xt: Proc; oidc: Proc; servers: Servers }> {
  const xt = await startXtStandInProcess(clientSecret);
  const eocPort = await freePort();
  const oidc = await startProcess(TSX, [
    'bench/servers/oidc-standin.ts',
    String(await freePort()),
    `http://127.0.0.1:${eocPort}/callback`,
  ]);
  const { OIDC_CLIENTS } = await import('../../standins/oidc.js');
  const basic = OIDC_CLIENTS.basic;
  const sink = await startProcess(process.execPath, ['bench/servers/otlp-sink.mjs', String(await freePort())]);
  const servers: Servers = {
    bare: await startProcess(process.execPath, ['bench/servers/bare-http.mjs', String(await freePort())]),
    express: await startProcess(process.execPath, ['bench/servers/express-bare.mjs', String(await freePort())]),
    baseline: await startProcess(process.execPath, [
      'bench/servers/express-session-sqlite.mjs',
      String(await freePort()),
      tmp('xtc-bench-baseline-'),
    ]),
    eoc: await startProcess(process.execPath, [
      'bench/servers/express-openid-connect.mjs',
      String(eocPort),
      oidc.url,
      basic.clientId,
      basic.clientSecret,
    ]),
    app: await startBuiltApp(ROOT, xt.url, clientSecret, 'new'),
    traced: await startBuiltApp(ROOT, xt.url, clientSecret, 'traced', { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }),
    sink,
    old: old ? await startBuiltApp(old, xt.url, clientSecret, 'old') : undefined,
  };
  return { xt, oidc, servers };
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

/**
 * A person logged in on each server with sessions, then every target, in the report's order: the
 * third is the baseline, the fourth express-openid-connect (the peer).
 */
export async function connectTargets(servers: Servers): Promise<Target[]> {
  const baselineCookie = (await fetch(`${servers.baseline.url}/login`)).headers.get('set-cookie')!.split(';')[0]!;
  const eocCookie = await connectEoc(servers.eoc.url);
  const appLogin = await connectXt(servers.app.url, 1);
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
    {
      name: 'baseline: Express + express-session (SQLite)',
      pid: servers.baseline.pid,
      url: `${servers.baseline.url}/api/session`,
      headers: { cookie: baselineCookie },
      check: isJsonConnected,
    },
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

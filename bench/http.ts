/**
 * The authenticated hot path against its baselines, side by side. Every server is its own process;
 * the load generator (autocannon) is another; the servers run interleaved, in rounds, and the
 * ratios are taken within each round (so a noisy neighbour moves every server alike), then their
 * median and spread are reported. CPU per request is read from /proc for each server.
 *
 *   servers: bare node:http, Express alone, Express + express-session on SQLite (THE baseline),
 *            express-openid-connect logged in against the oidc-provider stand-in (the peer),
 *            xt-connect GET /api/session and GET /account (connected, SQLite, production mode),
 *            and, with OLD=<a worktree of another commit, built>, the same two routes of that commit.
 *   also:    the callback's overhead over the token endpoint (p50 of sequential logins minus p50
 *            of direct code exchanges at the stand-in, interleaved).
 *
 *   npm run bench:http                      (7 rounds of 8 s; writes bench/results/http.md and http.json)
 *   ROUNDS=1 SECONDS=1 SMOKE=1 npm run bench:http   (what .ci/run does: every server answers correctly; no timing asserted)
 *   REPORT_ONLY=1 npx tsx bench/http.ts           (http.md again from http.json; nothing run)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { authorizeAtOidcStandIn } from '../test/helpers/oidc.js';
import { freePort } from '../test/helpers/ports.js';
import {
  Jar,
  type LoadResult,
  ROOT,
  TSX,
  autocannon,
  cpuMs,
  loadAverage,
  median,
  pct,
  r2,
  rssMb,
  startProcess,
  runMain,
} from './lib.js';
import { benchAppEnv, connectXt, decideAtStandIn, serverEntry } from './apps.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 8);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const LOGINS = Number(process.env.LOGINS ?? 60);
const SMOKE = process.env.SMOKE === '1';
const OLD = process.env.OLD ? path.resolve(process.env.OLD) : undefined;
/** ONLY=<regex>: load only the servers whose name matches (and always the baseline and the peer), for quick comparisons. */
const ONLY = process.env.ONLY ? new RegExp(process.env.ONLY) : undefined;
const CLIENT_SECRET = `bench-client-secret-${randomBytes(8).toString('hex')}`;
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

interface Target {
  name: string;
  pid: number;
  url: string;
  headers?: Record<string, string>;
  /** What a correct answer looks like (checked once before the rounds, and in the smoke pass). */
  check: (status: number, body: string) => boolean;
}

const isJsonConnected = (status: number, body: string) => status === 200 && /"connected":true/.test(body);

async function xtConnectApp(root: string, xt: string, label: string) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const app = await startProcess(process.execPath, [serverEntry(root)], benchAppEnv(port, xt, CLIENT_SECRET, label), {
    health: url,
  });
  return app;
}

/** A direct code exchange at the stand-in (what the callback waits for), timed. */
async function directExchangeMs(xt: string, user: number): Promise<number> {
  const redirect = 'http://127.0.0.1/cb';
  const authorize = new URL(
    `${xt}/en/accounts/oauth2?client_id=bench-client&redirect_uri=${encodeURIComponent(redirect)}&scope=userinfo&state=s`,
  );
  const code = new URL(await decideAtStandIn(authorize, user)).searchParams.get('code')!;
  const q = new URLSearchParams({
    client_id: 'bench-client',
    client_secret: CLIENT_SECRET,
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirect,
  });
  const t0 = performance.now();
  const res = await fetch(`${xt}/public/uaa/oauth2/token?${q}`);
  await res.text();
  return performance.now() - t0;
}

/** One sequential request to the app that does nothing (GET /healthz): the cost of the HTTP hop itself. */
async function bareRequestMs(app: string): Promise<number> {
  const t0 = performance.now();
  await (await fetch(`${app}/healthz`)).text();
  return performance.now() - t0;
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

async function checkTarget(t: Target): Promise<void> {
  const res = await fetch(t.url, { headers: t.headers });
  const body = await res.text();
  if (!t.check(res.status, body)) throw new Error(`${t.name} answered ${res.status}: ${body.slice(0, 200)}`);
}

async function main(): Promise<void> {
  const xtPort = await freePort();
  const xtProc = await startProcess(TSX, ['bench/servers/xt-standin.ts', String(xtPort)], {
    XT_CLIENT_SECRET: CLIENT_SECRET,
  });
  const xt = xtProc.url;
  const eocPort = await freePort();
  const oidc = await startProcess(TSX, [
    'bench/servers/oidc-standin.ts',
    String(await freePort()),
    `http://127.0.0.1:${eocPort}/callback`,
  ]);
  const { OIDC_CLIENTS } = await import('../standins/oidc.js');
  const basic = OIDC_CLIENTS.basic;
  const servers = {
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
    app: await xtConnectApp(ROOT, xt, 'new'),
    old: OLD ? await xtConnectApp(OLD, xt, 'old') : undefined,
  };
  const baselineCookie = (await fetch(`${servers.baseline.url}/login`)).headers.get('set-cookie')!.split(';')[0]!;
  const eocCookie = await connectEoc(servers.eoc.url);
  const appLogin = await connectXt(servers.app.url, 1);
  const oldLogin = servers.old ? await connectXt(servers.old.url, 2) : undefined;

  const all: Target[] = [
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
    // The old commit's account page may predate data-state: a 200 is enough there.
    ...(servers.old && oldLogin ? appTargets('xt-connect (OLD)', servers.old, oldLogin.cookie, (s) => s === 200) : []),
  ];
  const BASE = all[2]!.name;
  const EOC = all[3]!.name;
  const targets = all.filter((t) => !ONLY || t.name === BASE || t.name === EOC || ONLY.test(t.name));
  for (const t of targets) await checkTarget(t);

  const runs: { round: number; load: number; name: string; result: LoadResult; cpuUsPerReq: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const load = loadAverage();
    // Rotate the order each round, so no server always runs first or last.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const t of order) {
      const cpu0 = cpuMs(t.pid);
      const result = await autocannon(t.url, { connections: CONNECTIONS, seconds: SECONDS, headers: t.headers });
      const cpuUsPerReq = ((cpuMs(t.pid) - cpu0) * 1000) / Math.max(1, result.requests);
      runs.push({ round, load, name: t.name, result, cpuUsPerReq });
      if (result.non2xx > 0 || result.errors > 0)
        throw new Error(`${t.name}: ${result.non2xx} non-2xx and ${result.errors} errors`);
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done (load ${load})\n`);
  }

  // The callback's own cost: sequential logins against direct exchanges, interleaved.
  const callbackMs: number[] = [];
  const directMs: number[] = [];
  const hopMs: number[] = [];
  const oldCallbackMs: number[] = [];
  for (let i = 0; i < (SMOKE ? 3 : LOGINS); i++) {
    directMs.push(await directExchangeMs(xt, 1000 + i));
    hopMs.push(await bareRequestMs(servers.app.url));
    callbackMs.push((await connectXt(servers.app.url, 2000 + i)).callbackMs);
    if (servers.old) oldCallbackMs.push((await connectXt(servers.old.url, 3000 + i)).callbackMs);
  }

  const rss = Object.fromEntries(Object.entries(servers).flatMap(([k, s]) => (s ? [[k, rssMb(s.pid)]] : [])));
  for (const s of [...Object.values(servers), xtProc, oidc]) await s?.stop();
  if (SMOKE) {
    process.stdout.write(
      `bench:http smoke: every server answered correctly (${targets.length} targets, ${runs.length} runs)\n`,
    );
    return;
  }
  writeReport({
    targets,
    runs,
    BASE,
    EOC,
    callbackMs,
    directMs,
    hopMs,
    oldCallbackMs,
    rss,
    at: new Date().toISOString(),
  });
}

function writeReport(r: {
  targets: Target[];
  runs: { round: number; load: number; name: string; result: LoadResult; cpuUsPerReq: number }[];
  BASE: string;
  EOC: string;
  callbackMs: number[];
  directMs: number[];
  hopMs: number[];
  oldCallbackMs: number[];
  rss: Record<string, number>;
  at: string;
}): void {
  const rounds = [...new Set(r.runs.map((x) => x.round))];
  const within = (name: string, ref: string) =>
    rounds.map((round) => {
      const a = r.runs.find((x) => x.round === round && x.name === name)!;
      const b = r.runs.find((x) => x.round === round && x.name === ref)!;
      return a.result.rps / b.result.rps;
    });
  const rows = r.targets.map((t) => {
    const mine = r.runs.filter((x) => x.name === t.name);
    const vsBase = within(t.name, r.BASE);
    const vsEoc = within(t.name, r.EOC);
    return {
      name: t.name,
      rps: Math.round(median(mine.map((x) => x.result.rps))),
      p50: median(mine.map((x) => x.result.p50)),
      p99: median(mine.map((x) => x.result.p99)),
      ratio: r2(median(vsBase)),
      spread: `${r2(Math.min(...vsBase))}–${r2(Math.max(...vsBase))}`,
      vsEoc: r2(median(vsEoc)),
      cpuUs: Math.round(median(mine.map((x) => x.cpuUsPerReq))),
    };
  });
  const overhead = median(r.callbackMs) - median(r.directMs);
  const oldOverhead = r.oldCallbackMs.length ? median(r.oldCallbackMs) - median(r.directMs) : undefined;
  const md = [
    '# HTTP: the authenticated hot path against its baselines',
    '',
    `${r.at}, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}. ${ROUNDS} rounds of ${SECONDS} s per server, autocannon -c ${CONNECTIONS} in its own process, servers interleaved (order rotated each round), each its own process. Ratios are taken within each round, then the median (and min–max) over the rounds. Load average before each round: ${[...new Set(r.runs.map((x) => x.load))].join(', ')}.`,
    '',
    '| server | req/s | p50 ms | p99 ms | ratio to baseline (spread) | ratio to express-openid-connect | CPU per request |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (x) =>
        `| ${x.name} | ${x.rps} | ${x.p50} | ${x.p99} | **${x.ratio}** (${x.spread}) | ${x.vsEoc} | ${x.cpuUs} µs |`,
    ),
    '',
    `Callback overhead over the token endpoint (p50 of ${r.callbackMs.length} sequential logins minus p50 of as many direct code exchanges, interleaved): **${r2(overhead)} ms**${oldOverhead !== undefined ? ` (OLD: ${r2(oldOverhead)} ms)` : ''}. Callback p50 ${r2(median(r.callbackMs))} ms, p95 ${r2(pct(r.callbackMs, 95))} ms; direct exchange p50 ${r2(median(r.directMs))} ms. The extra HTTP hop alone (the browser's request to the app, which the direct exchange does not make): GET /healthz p50 ${r2(median(r.hopMs))} ms, so the callback's own work is about ${r2(overhead - median(r.hopMs))} ms.`,
    '',
    '## The goals of the performance issue',
    '',
    '| goal | measured | |',
    '| --- | --- | --- |',
    ...goalRows(rows, overhead, median(r.hopMs)),
    '',
    'Cold start, memory and the `/api/xt` overhead: `startup.md`, `memory.md`, `xt-gateway.md`. Where the time goes, and why the misses: `profile.md`.',
    '',
    `RSS at the end: ${Object.entries(r.rss)
      .map(([k, v]) => `${k} ${v} MB`)
      .join(', ')}.`,
    '',
    "Reproduce: `npm run bench:http` (OLD=<path to a built worktree of another commit> adds that commit's routes).",
    '',
  ].join('\n');
  process.stdout.write(md);
  if (ONLY) return; // a partial comparison is printed, not recorded
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/http.md'), md);
  fs.writeFileSync(
    path.join(ROOT, 'bench/results/http.json'),
    JSON.stringify(
      {
        at: r.at,
        rows,
        runs: r.runs,
        callbackMs: r.callbackMs,
        directMs: r.directMs,
        hopMs: r.hopMs,
        oldCallbackMs: r.oldCallbackMs,
        rss: r.rss,
      },
      null,
      2,
    ),
  );
}

/** Each goal of the performance issue against this run: met, or missed and by how much. */
function goalRows(rows: { name: string; ratio: number; vsEoc: number }[], overheadMs: number, hopMs: number): string[] {
  const row = (name: string) => rows.find((x) => x.name === name);
  const api = row('xt-connect GET /api/session');
  const account = row('xt-connect GET /account');
  const verdict = (ok: boolean, by: string) => (ok ? 'met' : `**missed** by ${by}`);
  const out: string[] = [];
  if (api) {
    out.push(
      `| \`/api/session\` ≥ 0.90× the baseline | ${api.ratio}× | ${verdict(api.ratio >= 0.9, `${r2(0.9 - api.ratio)}×`)} |`,
    );
    out.push(
      `| \`/api/session\` ≥ 1.3× express-openid-connect | ${api.vsEoc}× | ${verdict(api.vsEoc >= 1.3, `${r2(1.3 - api.vsEoc)}×`)} |`,
    );
  }
  if (account)
    out.push(
      `| \`/account\` ≥ 0.5× the baseline | ${account.ratio}× | ${verdict(account.ratio >= 0.5, `${r2(0.5 - account.ratio)}×`)} |`,
    );
  out.push(
    `| callback overhead ≤ 1.5 ms | ${r2(overheadMs)} ms (${r2(overheadMs - hopMs)} ms without the browser's HTTP hop) | ${verdict(overheadMs <= 1.5, `${r2(overheadMs - 1.5)} ms`)} |`,
  );
  return out;
}

/** REPORT_ONLY=1: http.md again from the last run's http.json (nothing run). */
function reportOnly(): void {
  const file = path.join(ROOT, 'bench/results/http.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Parameters<typeof writeReport>[0] & {
    rows: { name: string }[];
  };
  const names = j.rows.map((x) => x.name);
  writeReport({
    ...j,
    hopMs: j.hopMs ?? [],
    at: j.at ?? fs.statSync(file).mtime.toISOString(),
    targets: names.map((name) => ({ name }) as Target),
    BASE: names[2]!,
    EOC: names[3]!,
  });
}

if (process.env.REPORT_ONLY === '1') reportOnly();
else runMain(main);

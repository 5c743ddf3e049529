/**
 * The authenticated hot path against its baselines, side by side. Every server is its own process;
 * the load generator (autocannon) is another; the servers run interleaved, in rounds, and the
 * ratios are taken within each round (so a noisy neighbour moves every server alike), then their
 * median and spread are reported. CPU per request is read from /proc for each server.
 *
 *   servers: bare node:http, Express alone, the design card's minimal app (Express 5 + helmet() +
 *            express-session on SQLite: THE baseline since issue 28), express-openid-connect logged
 *            in against the oidc-provider stand-in (the peer), xt-connect GET /api/session and
 *            GET /account (connected, SQLite, production mode), the old baseline (Express +
 *            express-session on SQLite, no helmet), the minimal app on Redis (connect-redis) and
 *            xt-connect's GET /api/session on Redis (both on the bench's own loopback redis-server),
 *            and, with OLD=<a worktree of another commit, built>, the same two routes of that commit.
 *   also:    the callback's overhead over the token endpoint (p50 of sequential logins minus p50
 *            of direct code exchanges at the stand-in, interleaved).
 *
 *   npm run bench:http                      (7 rounds of 8 s; writes bench/results/http.md and http.json)
 *   ROUNDS=1 SECONDS=1 SMOKE=1 npm run bench:http   (what .ci/run does: every server answers correctly; no timing asserted)
 *   REPORT_ONLY=1 npx tsx bench/http.ts           (http.md again from http.json; nothing run)
 */
import fs from 'node:fs';
import path from 'node:path';
import { type RedisServer, startRedis } from '../test/helpers/redis.js';
import { ROOT, autocannon, cpuMs, loadAverage, rssMb, runMain } from './lib.js';
import { benchClientSecret, codeExchangeUrl, connectXt, decideAtStandIn } from './apps.js';
import { type Target, type Servers, checkTarget, connectTargets, startServers } from './http/targets.js';
import { type HowRun, type Measured, type Run, writeReport } from './http/report.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const SECONDS = Number(process.env.SECONDS ?? 8);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const LOGINS = Number(process.env.LOGINS ?? 60);
const SMOKE = process.env.SMOKE === '1';
const OLD = process.env.OLD ? path.resolve(process.env.OLD) : undefined;
/** ONLY=<regex>: load only the servers whose name matches (and always the baseline and the peer), for quick comparisons. */
const ONLY = process.env.ONLY ? new RegExp(process.env.ONLY) : undefined;
const CLIENT_SECRET = benchClientSecret();
const HOW: HowRun = { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, record: !ONLY };

/** The bench's own redis-server (loopback, a free port, no persistence), stopped whatever happens. */
async function main(): Promise<void> {
  const redis = await startRedis();
  try {
    await measure(redis);
  } finally {
    await redis.stop();
  }
}

async function measure(redis: RedisServer): Promise<void> {
  const { xt, oidc, servers } = await startServers(CLIENT_SECRET, OLD, redis);
  const all = await connectTargets(servers);
  const BASE = all[2]!.name;
  const EOC = all[3]!.name;
  const targets = all.filter((t) => !ONLY || t.name === BASE || t.name === EOC || ONLY.test(t.name));
  for (const t of targets) await checkTarget(t);

  const runs = await loadRounds(targets);
  const logins = await timeLogins(xt.url, servers);

  const rss = Object.fromEntries(Object.entries(servers).flatMap(([k, s]) => (s ? [[k, rssMb(s.pid)]] : [])));
  await Promise.all([...Object.values(servers), xt, oidc].map((s) => s?.stop() ?? Promise.resolve()));
  if (SMOKE) {
    process.stdout.write(
      `bench:http smoke: every server answered correctly (${targets.length} targets, ${runs.length} runs)\n`,
    );
    return;
  }
  writeReport({ targets, runs, BASE, EOC, ...logins, rss, at: new Date().toISOString() }, HOW);
}

/** ROUNDS rounds of autocannon on every target in turn, the order rotated each round; any non-2xx or error fails the run. */
async function loadRounds(targets: Target[]): Promise<Run[]> {
  const runs: Run[] = [];
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
  return runs;
}

/** The callback's own cost: sequential logins against direct exchanges (and the bare HTTP hop), interleaved. */
async function timeLogins(
  xt: string,
  servers: Servers,
): Promise<Pick<Measured, 'callbackMs' | 'directMs' | 'hopMs' | 'oldCallbackMs'>> {
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
  return { callbackMs, directMs, hopMs, oldCallbackMs };
}

/** A direct code exchange at the stand-in (what the callback waits for), timed. */
async function directExchangeMs(xt: string, user: number): Promise<number> {
  const redirect = 'http://127.0.0.1/cb';
  const authorize = new URL(
    `${xt}/en/accounts/oauth2?client_id=bench-client&redirect_uri=${encodeURIComponent(redirect)}&scope=userinfo&state=s`,
  );
  const code = new URL(await decideAtStandIn(authorize, user)).searchParams.get('code')!;
  const url = codeExchangeUrl(xt, CLIENT_SECRET, code, redirect);
  const t0 = performance.now();
  const res = await fetch(url);
  await res.text();
  return performance.now() - t0;
}

/** One sequential request to the app that does nothing (GET /healthz): the cost of the HTTP hop itself. */
async function bareRequestMs(app: string): Promise<number> {
  const t0 = performance.now();
  await (await fetch(`${app}/healthz`)).text();
  return performance.now() - t0;
}

/** REPORT_ONLY=1: http.md again from the last run's http.json (nothing run). */
function reportOnly(): void {
  const file = path.join(ROOT, 'bench/results/http.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Measured & { rows: { name: string }[] };
  const names = j.rows.map((x) => x.name);
  writeReport(
    {
      ...j,
      hopMs: j.hopMs ?? [],
      at: j.at ?? fs.statSync(file).mtime.toISOString(),
      targets: names.map((name) => ({ name })),
      BASE: names[2]!,
      EOC: names[3]!,
    },
    HOW,
  );
}

if (process.env.REPORT_ONLY === '1') reportOnly();
else runMain(main);

/**
 * What the same-origin gateway costs. Three processes: the XT.COM stand-in, the app (SQLite
 * store, production mode) and, for every measurement, a fresh load generator (bench/load/client.ts).
 * In each round, interleaved:
 *  - latency, one request at a time: a direct signed call to the stand-in (the baseline, signed by
 *    the load generator exactly as the app signs) against the same call through `/api/xt`;
 *  - throughput, 16 in flight: `/api/xt/spot/v4/open-order` against `/api/session` (the app's
 *    cheapest authenticated route), in the same round.
 * Every call is for one of USERS different XT.COM people, round-robin, so XT.COM's per-person
 * limits (3/s for balances) are never what is measured.
 * The app's CPU time per gateway call (from /proc, over each latency and throughput run) is the
 * cost of our side of one XT.COM call. With OLD=<a built worktree of another commit>, that
 * commit's app runs beside this one (its own USERS people), in the same rounds, interleaved.
 *
 *   npm run bench:xt                           (writes bench/results/xt-gateway.md and .json)
 *   ROUNDS=1 npm run bench:xt                  (a quick pass)
 *   OLD=/tmp/before npm run bench:xt           (before and after in one run)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { wireQuery } from '../src/providers/xt/sign.js';
import { ROOT, TSX, cpuMs, pct, r2, runMain } from './lib.js';
import { benchClientSecret, codeExchangeUrl, connectXt, startBuiltApp, startXtStandInProcess } from './apps.js';
import type { Job, Result, Template } from './load/client.js';
import { writeReport } from './xt-gateway/report.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const USERS = Number(process.env.USERS ?? 300);
const LATENCY_COUNT = Math.min(USERS, 240); // at most one call per person per latency run
const THROUGHPUT_SECONDS = Number(process.env.SECONDS ?? 3);
const CLIENT_SECRET = benchClientSecret();
const OLD = process.env.OLD ? path.resolve(process.env.OLD) : undefined;
/** A token for person `user` straight from the stand-in, for the direct (baseline) calls. */
async function directToken(xt: string, user: number): Promise<string> {
  const form = new URLSearchParams({
    decision: 'approve',
    as_user: String(10_000_000 + user),
    client_id: 'bench-client',
    redirect_uri: 'http://127.0.0.1/cb',
    scope: 'userinfo',
  });
  const back = await fetch(`${xt}/en/accounts/oauth2/decision`, { method: 'POST', body: form, redirect: 'manual' });
  const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
  const url = codeExchangeUrl(xt, CLIENT_SECRET, code, 'http://127.0.0.1/cb');
  const body = (await (await fetch(url)).json()) as { result: { access_token: string } };
  return body.result.access_token;
}

/** The direct (baseline) calls: a balances call signed for each of USERS people, exactly as the app signs it. */
async function directTemplates(xt: string): Promise<Template[]> {
  const tokens: string[] = [];
  for (let u = 0; u < USERS; u++) tokens.push(await directToken(xt, u));
  const query: [string, string][] = [['currencies', 'usdt,btc']];
  return tokens.map((token) => ({
    path: `/spot/v4/balances?${wireQuery(query)}`,
    sign: { token, appKey: 'bench-client', secret: CLIENT_SECRET, query, apiPath: '/spot/v4/balances' },
  }));
}

const runJob = async (job: Job): Promise<Result> => {
  const file = path.join(os.tmpdir(), `xtc-bench-job-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(job));
  const { stdout } = await promisify(execFile)(TSX, [path.join(ROOT, 'bench/load/client.ts'), file], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as Result;
};

type Timed = Result & { cpuUs: number };

/** A job against an app, with the app's CPU time per answered request in µs. */
async function runTimed(pid: number, job: Job): Promise<Timed> {
  const before = cpuMs(pid);
  const result = await runJob(job);
  return { ...result, cpuUs: ((cpuMs(pid) - before) * 1000) / Math.max(1, result.n) };
}

/** An app (this checkout's or OLD's) with `USERS` people connected, XT.COM people `first`… */
async function startApp(root: string, xt: string, label: string, first: number) {
  const proc = await startBuiltApp(root, xt, CLIENT_SECRET, label);
  const url = proc.url;
  const cookies: string[] = [];
  for (let u = 0; u < USERS; u++) cookies.push((await connectXt(url, first + u)).cookie);
  return {
    proc,
    url,
    gateway: cookies.map((cookie): Template => ({
      path: `/api/xt/spot/v4/balances?currencies=usdt,btc`,
      headers: { cookie },
    })),
    session: cookies.map((cookie): Template => ({ path: '/api/session', headers: { cookie } })),
    orders: cookies.map((cookie): Template => ({ path: '/api/xt/spot/v4/open-order', headers: { cookie } })),
  };
}

type App = Awaited<ReturnType<typeof startApp>>;

async function main(): Promise<void> {
  const xtProc = await startXtStandInProcess(CLIENT_SECRET);
  const xt = xtProc.url;
  console.log(`bench: connecting ${USERS} people${OLD ? ` to each app (OLD: ${OLD})` : ''}…`);
  // The built servers, as the image runs them.
  const app = await startApp(ROOT, xt, 'xt', 0);
  const old = OLD ? await startApp(OLD, xt, 'xt-old', USERS) : undefined;
  const direct = await directTemplates(xt);

  // A warm-up pass of each, not counted.
  await runJob({ base: xt, templates: direct, mode: 'latency', count: 50 });
  for (const a of [app, old]) if (a) await runJob({ base: a.url, templates: a.gateway, mode: 'latency', count: 50 });

  const rounds: Record<string, number>[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    await new Promise((res) => setTimeout(res, 1100)); // every person's one-second window is empty again
    const round = await runRound(r, xt, direct, app, old);
    rounds.push(round);
    console.log(
      `bench: round ${r}: ${JSON.stringify(Object.fromEntries(Object.entries(round).map(([k, v]) => [k, r2(v)])))}`,
    );
  }

  const machine = {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    date: new Date().toISOString(),
    users: USERS,
    rounds: ROUNDS,
    old: OLD,
  };
  const failures = writeReport(machine, { latencyCount: LATENCY_COUNT, throughputSeconds: THROUGHPUT_SECONDS }, rounds);
  console.log(`bench: wrote bench/results/xt-gateway.md (failures: ${failures})`);
  await app.proc.stop();
  await old?.proc.stop();
  await xtProc.stop();
  if (failures > 0) throw new Error(`${failures} failed or non-2xx requests`);
}

/** An app's gateway in one round: balances one at a time (latency), open orders 16 in flight (throughput). */
async function gatewayRuns(a: App): Promise<{ g: Timed; o: Timed }> {
  const g = await runTimed(a.proc.pid, {
    base: a.url,
    templates: a.gateway,
    mode: 'latency',
    count: LATENCY_COUNT,
  });
  const o = await runTimed(a.proc.pid, {
    base: a.url,
    templates: a.orders,
    mode: 'throughput',
    concurrency: 16,
    seconds: THROUGHPUT_SECONDS,
  });
  return { g, o };
}

/**
 * Round `r`: the direct calls' latency, then each app's gateway (OLD first in odd rounds, second
 * in even ones), then this app's /api/session throughput; the round's figures.
 */
async function runRound(
  r: number,
  xt: string,
  direct: Template[],
  app: App,
  old: App | undefined,
): Promise<Record<string, number>> {
  const d = await runJob({ base: xt, templates: direct, mode: 'latency', count: LATENCY_COUNT });
  // OLD first in odd rounds, second in even ones.
  const apps = old && r % 2 === 1 ? [old, app] : old ? [app, old] : [app];
  const runs = new Map<App, { g: Timed; o: Timed }>();
  for (const a of apps) runs.set(a, await gatewayRuns(a));
  const s = await runJob({
    base: app.url,
    templates: app.session,
    mode: 'throughput',
    concurrency: 16,
    seconds: THROUGHPUT_SECONDS,
  });
  return roundFigures(r, { d, ...runs.get(app)!, s }, old ? runs.get(old) : undefined);
}

/**
 * One round's figures from its runs: `d` direct latency, `g` gateway latency, `o` gateway
 * throughput, `s` session throughput, and `was` OLD's `g` and `o`.
 */
function roundFigures(
  r: number,
  { d, g, o, s }: { d: Result; g: Timed; o: Timed; s: Result },
  was: { g: Timed; o: Timed } | undefined,
): Record<string, number> {
  return {
    round: r,
    loadavg1: os.loadavg()[0]!,
    directP50: pct(d.latenciesMs!, 50),
    directP99: pct(d.latenciesMs!, 99),
    gatewayP50: pct(g.latenciesMs!, 50),
    gatewayP99: pct(g.latenciesMs!, 99),
    overheadP50: pct(g.latenciesMs!, 50) - pct(d.latenciesMs!, 50),
    overheadP99: pct(g.latenciesMs!, 99) - pct(d.latenciesMs!, 99),
    sessionRps: s.n / s.seconds!,
    gatewayRps: o.n / o.seconds!,
    ratio: o.n / o.seconds! / (s.n / s.seconds!),
    cpuUsLatency: g.cpuUs,
    cpuUsThroughput: o.cpuUs,
    ...(was
      ? {
          oldGatewayP50: pct(was.g.latenciesMs!, 50),
          oldGatewayRps: was.o.n / was.o.seconds!,
          oldCpuUsLatency: was.g.cpuUs,
          oldCpuUsThroughput: was.o.cpuUs,
          cpuUsAddedLatency: g.cpuUs - was.g.cpuUs,
          cpuUsAddedThroughput: o.cpuUs - was.o.cpuUs,
        }
      : {}),
    failures:
      d.errors +
      d.non2xx +
      g.errors +
      g.non2xx +
      s.errors +
      s.non2xx +
      o.errors +
      o.non2xx +
      (was ? was.g.errors + was.g.non2xx + was.o.errors + was.o.non2xx : 0),
    failuresDirect: d.errors + d.non2xx,
    failuresGateway: g.errors + g.non2xx,
    failuresSession: s.errors + s.non2xx,
    failuresOrders: o.errors + o.non2xx,
  };
}

runMain(main);

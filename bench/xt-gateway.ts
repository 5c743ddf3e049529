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
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { wireQuery } from '../src/providers/xt/sign.js';
import { freePort } from '../test/helpers/ports.js';
import { ROOT, TSX, cpuMs, median, pct, r2, runMain, startProcess } from './lib.js';
import { benchAppEnv, connectXt, serverEntry } from './apps.js';
import type { Job, Result, Template } from './load/client.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const USERS = Number(process.env.USERS ?? 300);
const LATENCY_COUNT = Math.min(USERS, 240); // at most one call per person per latency run
const THROUGHPUT_SECONDS = Number(process.env.SECONDS ?? 3);
const CLIENT_SECRET = `bench-client-secret-${randomBytes(8).toString('hex')}`;
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
  const q = new URLSearchParams({
    client_id: 'bench-client',
    client_secret: CLIENT_SECRET,
    grant_type: 'authorization_code',
    code,
    redirect_uri: 'http://127.0.0.1/cb',
  });
  const body = (await (await fetch(`${xt}/public/uaa/oauth2/token?${q}`)).json()) as {
    result: { access_token: string };
  };
  return body.result.access_token;
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

/** A job against an app, with the app's CPU time per answered request in µs. */
async function runTimed(pid: number, job: Job): Promise<Result & { cpuUs: number }> {
  const before = cpuMs(pid);
  const result = await runJob(job);
  return { ...result, cpuUs: ((cpuMs(pid) - before) * 1000) / Math.max(1, result.n) };
}

/** An app (this checkout's or OLD's) with `USERS` people connected, XT.COM people `first`… */
async function startApp(root: string, xt: string, label: string, first: number) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await startProcess(process.execPath, [serverEntry(root)], benchAppEnv(port, xt, CLIENT_SECRET, label), {
    health: url,
  });
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

async function main(): Promise<void> {
  const xtPort = await freePort();
  const xtProc = await startProcess(TSX, ['bench/servers/xt-standin.ts', String(xtPort)], {
    XT_CLIENT_SECRET: CLIENT_SECRET,
  });
  const xt = xtProc.url;
  console.log(`bench: connecting ${USERS} people${OLD ? ` to each app (OLD: ${OLD})` : ''}…`);
  // The built servers, as the image runs them.
  const app = await startApp(ROOT, xt, 'xt', 0);
  const old = OLD ? await startApp(OLD, xt, 'xt-old', USERS) : undefined;
  const tokens: string[] = [];
  for (let u = 0; u < USERS; u++) tokens.push(await directToken(xt, u));
  const query: [string, string][] = [['currencies', 'usdt,btc']];
  const direct: Template[] = tokens.map((token) => ({
    path: `/spot/v4/balances?${wireQuery(query)}`,
    sign: { token, appKey: 'bench-client', secret: CLIENT_SECRET, query, apiPath: '/spot/v4/balances' },
  }));

  // A warm-up pass of each, not counted.
  await runJob({ base: xt, templates: direct, mode: 'latency', count: 50 });
  for (const a of [app, old]) if (a) await runJob({ base: a.url, templates: a.gateway, mode: 'latency', count: 50 });

  const rounds: Record<string, number>[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    await new Promise((res) => setTimeout(res, 1100)); // every person's one-second window is empty again
    const d = await runJob({ base: xt, templates: direct, mode: 'latency', count: LATENCY_COUNT });
    // OLD first in odd rounds, second in even ones.
    const apps = old && r % 2 === 1 ? [old, app] : old ? [app, old] : [app];
    const runs = new Map<typeof app, { g: Result & { cpuUs: number }; o: Result & { cpuUs: number } }>();
    for (const a of apps) {
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
      runs.set(a, { g, o });
    }
    const { g, o } = runs.get(app)!;
    const s = await runJob({
      base: app.url,
      templates: app.session,
      mode: 'throughput',
      concurrency: 16,
      seconds: THROUGHPUT_SECONDS,
    });
    const was = old ? runs.get(old) : undefined;
    const round = {
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
    rounds.push(round);
    console.log(
      `bench: round ${r}: ${JSON.stringify(Object.fromEntries(Object.entries(round).map(([k, v]) => [k, r2(v)])))}`,
    );
  }

  const col = (k: string) => rounds.map((x) => x[k]!);
  const summary = Object.fromEntries(
    Object.keys(rounds[0]!)
      .filter((k) => k !== 'round' && k !== 'loadavg1' && !k.startsWith('failures'))
      .map((k) => [k, { median: r2(median(col(k))), min: r2(Math.min(...col(k))), max: r2(Math.max(...col(k))) }]),
  );
  const failures = col('failures').reduce((a, b) => a + b, 0);
  const machine = {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    date: new Date().toISOString(),
    users: USERS,
    rounds: ROUNDS,
    old: OLD,
  };
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'xt-gateway.json'),
    JSON.stringify({ machine, summary, failures, rounds }, null, 2) + '\n',
  );
  const row = (label: string, k: string, unit: string) =>
    `| ${label} | ${summary[k]!.median} ${unit} | ${summary[k]!.min} – ${summary[k]!.max} |`;
  fs.writeFileSync(
    path.join(dir, 'xt-gateway.md'),
    `# /api/xt: the gateway's cost

${machine.date}, Node ${machine.node}, ${machine.cpus} × ${machine.cpu}. ${ROUNDS} rounds, ${USERS} connected people, the stand-in, the app (SQLite, production mode) and the load generator each in its own process. Medians over rounds, with the range.

| measure | median | range over rounds |
| --- | --- | --- |
${row('direct signed call to the stand-in, p50', 'directP50', 'ms')}
${row('direct signed call to the stand-in, p99', 'directP99', 'ms')}
${row('the same call through `/api/xt`, p50', 'gatewayP50', 'ms')}
${row('the same call through `/api/xt`, p99', 'gatewayP99', 'ms')}
${row('**added by the gateway, p50**', 'overheadP50', 'ms')}
${row('added by the gateway, p99', 'overheadP99', 'ms')}
${row('`/api/session`, 16 in flight', 'sessionRps', 'req/s')}
${row('`/api/xt/spot/v4/open-order`, 16 in flight', 'gatewayRps', 'req/s')}
${row('**`/api/xt` throughput ÷ `/api/session` throughput (same round)**', 'ratio', '×')}
${row("the app's CPU per `/api/xt` call, one at a time", 'cpuUsLatency', 'µs')}
${row("the app's CPU per `/api/xt` call, 16 in flight", 'cpuUsThroughput', 'µs')}
${
  OLD
    ? [
        row('OLD: the same call through `/api/xt`, p50', 'oldGatewayP50', 'ms'),
        row('OLD: `/api/xt/spot/v4/open-order`, 16 in flight', 'oldGatewayRps', 'req/s'),
        row("OLD: the app's CPU per `/api/xt` call, one at a time", 'oldCpuUsLatency', 'µs'),
        row("OLD: the app's CPU per `/api/xt` call, 16 in flight", 'oldCpuUsThroughput', 'µs'),
        row('**CPU per call added over OLD, one at a time (same round)**', 'cpuUsAddedLatency', 'µs'),
        row('**CPU per call added over OLD, 16 in flight (same round)**', 'cpuUsAddedThroughput', 'µs'),
      ].join('\n') + '\n'
    : ''
}
Failed or non-2xx requests across all rounds: ${failures}.

${OLD ? `OLD is \`${path.basename(OLD)}\`, a built worktree of another commit, run in the same rounds (order alternating) with its own ${USERS} people. ` : ''}CPU is the app's user + system time from /proc over each run (10 ms ticks), divided by the requests answered; it includes the whole request (session, decryption, guard, signing, the call to XT.COM). Latency is one request at a time (${LATENCY_COUNT} per run, one per person); throughput runs ${THROUGHPUT_SECONDS} s per server per round. The gateway's call includes reading and decrypting the connection, the guard (its in-process sliding window), signing, and the stand-in's own work, which the direct call also pays. Reproduce with \`npm run bench:xt\`.
`,
  );
  console.log(`bench: wrote bench/results/xt-gateway.md (failures: ${failures})`);
  await app.proc.stop();
  await old?.proc.stop();
  await xtProc.stop();
  if (failures > 0) throw new Error(`${failures} failed or non-2xx requests`);
}

runMain(main);

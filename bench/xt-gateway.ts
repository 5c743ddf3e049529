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
 *
 *   npm run bench:xt           (writes bench/results/xt-gateway.md and .json)
 *   ROUNDS=1 npm run bench:xt  (a quick pass)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { wireQuery } from '../src/providers/xtSign.js';
import { freePort } from '../test/helpers/ports.js';
import { ROOT, TSX, benchAppEnv, connectXt, median, pct, r2, runMain, serverEntry, startProcess } from './lib.js';
import type { Job, Result, Template } from './load/client.js';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const USERS = Number(process.env.USERS ?? 300);
const LATENCY_COUNT = Math.min(USERS, 240); // at most one call per person per latency run
const THROUGHPUT_SECONDS = Number(process.env.SECONDS ?? 3);
const CLIENT_SECRET = `bench-client-secret-${randomBytes(8).toString('hex')}`;
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
  const body = (await (await fetch(`${xt}/public/uaa/oauth2/token?${q}`)).json()) as { result: { access_token: string } };
  return body.result.access_token;
}

const runJob = async (job: Job): Promise<Result> => {
  const file = path.join(os.tmpdir(), `xtc-bench-job-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify(job));
  const { stdout } = await promisify(execFile)(TSX, [path.join(ROOT, 'bench/load/client.ts'), file], { cwd: ROOT, maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as Result;
};

async function main(): Promise<void> {
  const [xtPort, appPort] = [await freePort(), await freePort()];
  const xtProc = await startProcess(TSX, ['bench/servers/xt-standin.ts', String(xtPort)], { XT_CLIENT_SECRET: CLIENT_SECRET });
  const xt = xtProc.url;
  const app = `http://127.0.0.1:${appPort}`;
  // The built server, as the image runs it.
  const appProc = await startProcess(process.execPath, [serverEntry(ROOT)], benchAppEnv(appPort, xt, CLIENT_SECRET, 'xt'), { health: app });

  console.log(`bench: connecting ${USERS} people…`);
  const cookies: string[] = [];
  const tokens: string[] = [];
  for (let u = 0; u < USERS; u++) {
    cookies.push((await connectXt(app, u)).cookie);
    tokens.push(await directToken(xt, u));
  }
  const query: [string, string][] = [['currencies', 'usdt,btc']];
  const direct: Template[] = tokens.map((token) => ({
    path: `/spot/v4/balances?${wireQuery(query)}`,
    sign: { token, appKey: 'bench-client', secret: CLIENT_SECRET, query, apiPath: '/spot/v4/balances' },
  }));
  const gateway: Template[] = cookies.map((cookie) => ({ path: `/api/xt/spot/v4/balances?currencies=usdt,btc`, headers: { cookie } }));
  const session: Template[] = cookies.map((cookie) => ({ path: '/api/session', headers: { cookie } }));
  const gatewayOrders: Template[] = cookies.map((cookie) => ({ path: '/api/xt/spot/v4/open-order', headers: { cookie } }));

  // A warm-up pass of each, not counted.
  await runJob({ base: xt, templates: direct, mode: 'latency', count: 50 });
  await runJob({ base: app, templates: gateway, mode: 'latency', count: 50 });

  const rounds: Record<string, number>[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    await new Promise((res) => setTimeout(res, 1100)); // every person's one-second window is empty again
    const d = await runJob({ base: xt, templates: direct, mode: 'latency', count: LATENCY_COUNT });
    const g = await runJob({ base: app, templates: gateway, mode: 'latency', count: LATENCY_COUNT });
    const s = await runJob({ base: app, templates: session, mode: 'throughput', concurrency: 16, seconds: THROUGHPUT_SECONDS });
    const o = await runJob({ base: app, templates: gatewayOrders, mode: 'throughput', concurrency: 16, seconds: THROUGHPUT_SECONDS });
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
      failures: d.errors + d.non2xx + g.errors + g.non2xx + s.errors + s.non2xx + o.errors + o.non2xx,
      failuresDirect: d.errors + d.non2xx,
      failuresGateway: g.errors + g.non2xx,
      failuresSession: s.errors + s.non2xx,
      failuresOrders: o.errors + o.non2xx,
    };
    rounds.push(round);
    console.log(`bench: round ${r}: ${JSON.stringify(Object.fromEntries(Object.entries(round).map(([k, v]) => [k, r2(v)])))}`);
  }

  const col = (k: string) => rounds.map((x) => x[k]!);
  const summary = Object.fromEntries(
    ['directP50', 'directP99', 'gatewayP50', 'gatewayP99', 'overheadP50', 'overheadP99', 'sessionRps', 'gatewayRps', 'ratio'].map((k) => [
      k,
      { median: r2(median(col(k))), min: r2(Math.min(...col(k))), max: r2(Math.max(...col(k))) },
    ]),
  );
  const failures = col('failures').reduce((a, b) => a + b, 0);
  const machine = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, date: new Date().toISOString(), users: USERS, rounds: ROUNDS };
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'xt-gateway.json'), JSON.stringify({ machine, summary, failures, rounds }, null, 2) + '\n');
  const row = (label: string, k: string, unit: string) => `| ${label} | ${summary[k]!.median} ${unit} | ${summary[k]!.min} – ${summary[k]!.max} |`;
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

Failed or non-2xx requests across all rounds: ${failures}.

Latency is one request at a time (${LATENCY_COUNT} per run, one per person); throughput runs ${THROUGHPUT_SECONDS} s per server per round. The gateway's call includes reading and decrypting the connection, the guard (its in-process sliding window), signing, and the stand-in's own work, which the direct call also pays. Reproduce with \`npm run bench:xt\`.
`,
  );
  console.log(`bench: wrote bench/results/xt-gateway.md (failures: ${failures})`);
  await appProc.stop();
  await xtProc.stop();
  if (failures > 0) throw new Error(`${failures} failed or non-2xx requests`);
}

runMain(main);

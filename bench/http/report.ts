/**
 * bench/http.ts's report: the per-server table (medians over the rounds, ratios taken within each
 * round), the callback's overhead, and the performance issue's goals, printed and written to
 * bench/results/http.md, with the raw numbers in http.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type LoadResult, ROOT, cpuDescription, median, pct, r2 } from '../lib.js';
import { REDIS_NAMES } from './targets.js';

/** One server's load in one round: autocannon's result and the server's CPU per request. */
export interface Run {
  round: number;
  load: number;
  name: string;
  result: LoadResult;
  cpuUsPerReq: number;
}

/** What a run measured (http.json holds it, with `rows`). */
export interface Measured {
  targets: { name: string }[];
  runs: Run[];
  /** The baseline's (the minimal app's) and express-openid-connect's target names, which the ratios are taken to. */
  BASE: string;
  EOC: string;
  callbackMs: number[];
  directMs: number[];
  hopMs: number[];
  oldCallbackMs: number[];
  rss: Record<string, number>;
  at: string;
}

/** How the run was made (from the environment), for the report's text; `record`: write the files, not only print. */
export interface HowRun {
  rounds: number;
  seconds: number;
  connections: number;
  record: boolean;
}

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  ratio: number;
  spread: string;
  vsEoc: number;
  /** To the baseline before issue 28 (Express + express-session, no helmet), when it ran. */
  vsOld: number | undefined;
  cpuUs: number;
}

/** The old baseline's row name (before issue 28 it was THE baseline). */
const OLD_BASE = 'old baseline: Express + express-session (SQLite)';

/** `name`'s req/s over `ref`'s, taken within each round where both ran. */
function within(r: Measured, name: string, ref: string): number[] {
  return [...new Set(r.runs.map((x) => x.round))].flatMap((round) => {
    const a = r.runs.find((x) => x.round === round && x.name === name);
    const b = r.runs.find((x) => x.round === round && x.name === ref);
    return a && b ? [a.result.rps / b.result.rps] : [];
  });
}

/** Each target's medians over the rounds, and its ratios to the baseline and the peer, taken within each round. */
function tableRows(r: Measured): Row[] {
  return r.targets.map((t) => {
    const mine = r.runs.filter((x) => x.name === t.name);
    const vsBase = within(r, t.name, r.BASE);
    const vsEoc = within(r, t.name, r.EOC);
    const vsOld = within(r, t.name, OLD_BASE);
    return {
      name: t.name,
      rps: Math.round(median(mine.map((x) => x.result.rps))),
      p50: median(mine.map((x) => x.result.p50)),
      p99: median(mine.map((x) => x.result.p99)),
      ratio: r2(median(vsBase)),
      spread: `${r2(Math.min(...vsBase))}–${r2(Math.max(...vsBase))}`,
      vsEoc: r2(median(vsEoc)),
      vsOld: vsOld.length ? r2(median(vsOld)) : undefined,
      cpuUs: Math.round(median(mine.map((x) => x.cpuUsPerReq))),
    };
  });
}

/** Tracing on against off, per route: the median (and min–max) of the req/s ratios taken within each round. */
function tracingParagraph(r: Measured): string {
  const rounds = [...new Set(r.runs.map((x) => x.round))];
  const parts = ['GET /api/session', 'GET /account'].flatMap((route) => {
    const ratios = rounds.flatMap((round) => {
      const on = r.runs.find((x) => x.round === round && x.name === `xt-connect traced ${route}`);
      const off = r.runs.find((x) => x.round === round && x.name === `xt-connect ${route}`);
      return on && off ? [on.result.rps / off.result.rps] : [];
    });
    return ratios.length
      ? [`${route} **${r2(median(ratios))}×** (${r2(Math.min(...ratios))}–${r2(Math.max(...ratios))})`]
      : [];
  });
  return parts.length
    ? `Tracing on (every request sampled, exported over OTLP/HTTP to a sink in another process) against off, req/s ratio within each round: ${parts.join(', ')}.`
    : '';
}

/** The callback's overhead over the token endpoint: the paragraph, and the overhead (ms) the goal is judged on. */
function callbackParagraph(r: Measured): { text: string; overhead: number } {
  const overhead = median(r.callbackMs) - median(r.directMs);
  const oldOverhead = r.oldCallbackMs.length ? median(r.oldCallbackMs) - median(r.directMs) : undefined;
  return {
    overhead,
    text: `Callback overhead over the token endpoint (p50 of ${r.callbackMs.length} sequential logins minus p50 of as many direct code exchanges, interleaved): **${r2(overhead)} ms**${oldOverhead !== undefined ? ` (OLD: ${r2(oldOverhead)} ms)` : ''}. Callback p50 ${r2(median(r.callbackMs))} ms, p95 ${r2(pct(r.callbackMs, 95))} ms; direct exchange p50 ${r2(median(r.directMs))} ms. The extra HTTP hop alone (the browser's request to the app, which the direct exchange does not make): GET /healthz p50 ${r2(median(r.hopMs))} ms, so the callback's own work is about ${r2(overhead - median(r.hopMs))} ms.`,
  };
}

function markdown(r: Measured, how: HowRun, rows: Row[]): string {
  const callback = callbackParagraph(r);
  return [
    '# HTTP: the authenticated hot path against its baselines',
    '',
    `${r.at}, Node ${process.version}, ${cpuDescription()}. ${how.rounds} rounds of ${how.seconds} s per server, autocannon -c ${how.connections} in its own process, servers interleaved (order rotated each round), each its own process. Ratios are taken within each round, then the median (and min–max) over the rounds. Load average before each round: ${[...new Map(r.runs.map((x) => [x.round, x.load])).values()].join(', ')}.`,
    '',
    '| server | req/s | p50 ms | p99 ms | ratio to the minimal app (spread) | ratio to express-openid-connect | ratio to the old baseline | CPU per request |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (x) =>
        `| ${x.name} | ${x.rps} | ${x.p50} | ${x.p99} | **${x.ratio}** (${x.spread}) | ${x.vsEoc} | ${x.vsOld ?? '–'} | ${x.cpuUs} µs |`,
    ),
    '',
    "The baseline (issue 28) is the design card's minimal app: Express 5, `helmet()` with its defaults and express-session on the same SQLite store. The old baseline (the same without helmet) stays as a row, so earlier tables still read against it. The Redis rows run on the bench's own redis-server on 127.0.0.1.",
    '',
    tracingParagraph(r),
    '',
    callback.text,
    '',
    '## The goals of the performance issue',
    '',
    '| goal | measured | |',
    '| --- | --- | --- |',
    ...goalRows(rows, within(r, REDIS_NAMES.app, REDIS_NAMES.minimal), callback.overhead, median(r.hopMs)),
    '',
    'Cold start (≤ 1.3× the minimal app), memory (≤ 200 MB at 20,000 sessions and after 2 minutes of load, flat) and the `/api/xt` overhead: `startup.md`, `memory.md`, `xt-gateway.md`. Where the time goes, and why the misses: `profile.md` and `docs/performance.md`.',
    '',
    `RSS at the end: ${Object.entries(r.rss)
      .map(([k, v]) => `${k} ${v} MB`)
      .join(', ')}.`,
    '',
    "Reproduce: `npm run bench:http` (OLD=<path to a built worktree of another commit> adds that commit's routes).",
    '',
  ].join('\n');
}

/** Prints the report; unless `how.record` is off (a partial comparison), writes http.md and http.json. */
export function writeReport(r: Measured, how: HowRun): void {
  const rows = tableRows(r);
  const md = markdown(r, how, rows);
  process.stdout.write(md);
  if (!how.record) return;
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

/** Each goal of the performance issue (issue 28) against this run: met, or missed and by how much. */
function goalRows(
  rows: { name: string; ratio: number; vsEoc: number }[],
  redisRatios: number[],
  overheadMs: number,
  hopMs: number,
): string[] {
  const row = (name: string) => rows.find((x) => x.name === name);
  const api = row('xt-connect GET /api/session');
  const account = row('xt-connect GET /account');
  const verdict = (ok: boolean, by: string) => (ok ? 'met' : `**missed** by ${by}`);
  const atLeast = (goal: string, x: number, min: number) =>
    `| ${goal} | ${x}× | ${verdict(x >= min, `${r2(min - x)}× (${Math.round((1 - x / min) * 100)} %)`)} |`;
  const out: string[] = [];
  if (api) {
    out.push(atLeast('`GET /api/session`, connected, SQLite ≥ 1.0× the minimal app', api.ratio, 1));
    out.push(atLeast('`GET /api/session`, connected, SQLite ≥ 1.5× express-openid-connect', api.vsEoc, 1.5));
  }
  if (redisRatios.length) {
    const redis = r2(median(redisRatios));
    out.push(
      atLeast('`GET /api/session` on Redis ≥ 1.0× the minimal app on Redis (connect-redis)', redis, 1).replace(
        `| ${redis}× |`,
        `| ${redis}× (${r2(Math.min(...redisRatios))}–${r2(Math.max(...redisRatios))}) |`,
      ),
    );
  }
  if (account) out.push(atLeast('`GET /account` ≥ 0.5× the minimal app', account.ratio, 0.5));
  const own = r2(overheadMs - hopMs);
  out.push(
    `| the callback's own work, not counting the browser's HTTP hop, ≤ 1.0 ms p50 | ${own} ms (overhead over the token endpoint ${r2(overheadMs)} ms, less the hop's ${r2(hopMs)} ms) | ${verdict(own <= 1, `${r2(own - 1)} ms`)} |`,
  );
  return out;
}

/**
 * bench/http.ts's report: the per-server table (medians over the rounds, ratios taken within each
 * round), the callback's overhead, and the performance issue's goals, printed and written to
 * bench/results/http.md, with the raw numbers in http.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type LoadResult, ROOT, cpuDescription, median, pct, r2 } from '../lib.js';

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
  /** The baseline's and express-openid-connect's target names, which the ratios are taken to. */
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
  cpuUs: number;
}

/** Each target's medians over the rounds, and its ratios to the baseline and the peer, taken within each round. */
function tableRows(r: Measured): Row[] {
  const rounds = [...new Set(r.runs.map((x) => x.round))];
  const within = (name: string, ref: string) =>
    rounds.map((round) => {
      const a = r.runs.find((x) => x.round === round && x.name === name)!;
      const b = r.runs.find((x) => x.round === round && x.name === ref)!;
      return a.result.rps / b.result.rps;
    });
  return r.targets.map((t) => {
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
    `${r.at}, Node ${process.version}, ${cpuDescription()}. ${how.rounds} rounds of ${how.seconds} s per server, autocannon -c ${how.connections} in its own process, servers interleaved (order rotated each round), each its own process. Ratios are taken within each round, then the median (and min–max) over the rounds. Load average before each round: ${[...new Set(r.runs.map((x) => x.load))].join(', ')}.`,
    '',
    '| server | req/s | p50 ms | p99 ms | ratio to baseline (spread) | ratio to express-openid-connect | CPU per request |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (x) =>
        `| ${x.name} | ${x.rps} | ${x.p50} | ${x.p99} | **${x.ratio}** (${x.spread}) | ${x.vsEoc} | ${x.cpuUs} µs |`,
    ),
    '',
    tracingParagraph(r),
    '',
    callback.text,
    '',
    '## The goals of the performance issue',
    '',
    '| goal | measured | |',
    '| --- | --- | --- |',
    ...goalRows(rows, callback.overhead, median(r.hopMs)),
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

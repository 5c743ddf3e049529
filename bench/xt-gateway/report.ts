/**
 * bench/xt-gateway.ts's results: each measure's median and range over the rounds, written to
 * bench/results/xt-gateway.json (with the machine and every round) and xt-gateway.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, median, r2 } from '../lib.js';

/** The machine and the run's size, as xt-gateway.json records them. */
export interface Machine {
  node: string;
  cpus: number;
  cpu: string | undefined;
  date: string;
  users: number;
  rounds: number;
  old: string | undefined;
}

/** How each run was made, for the report's text. */
export interface HowRun {
  latencyCount: number;
  throughputSeconds: number;
}

type Summary = Record<string, { median: number; min: number; max: number }>;

/** Every measure of the rounds (not their number, load average or failures): median, min and max over the rounds. */
function summarize(rounds: Record<string, number>[]): Summary {
  const col = (k: string) => rounds.map((x) => x[k]!);
  return Object.fromEntries(
    Object.keys(rounds[0]!)
      .filter((k) => k !== 'round' && k !== 'loadavg1' && !k.startsWith('failures'))
      .map((k) => [k, { median: r2(median(col(k))), min: r2(Math.min(...col(k))), max: r2(Math.max(...col(k))) }]),
  );
}

function markdown(machine: Machine, how: HowRun, summary: Summary, failures: number): string {
  const row = (label: string, k: string, unit: string) =>
    `| ${label} | ${summary[k]!.median} ${unit} | ${summary[k]!.min} – ${summary[k]!.max} |`;
  const OLD = machine.old;
  return `# /api/xt: the gateway's cost

${machine.date}, Node ${machine.node}, ${machine.cpus} × ${machine.cpu}. ${machine.rounds} rounds, ${machine.users} connected people, the stand-in, the app (SQLite, production mode) and the load generator each in its own process. Medians over rounds, with the range.

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

${OLD ? `OLD is \`${path.basename(OLD)}\`, a built worktree of another commit, run in the same rounds (order alternating) with its own ${machine.users} people. ` : ''}CPU is the app's user + system time from /proc over each run (10 ms ticks), divided by the requests answered; it includes the whole request (session, decryption, guard, signing, the call to XT.COM). Latency is one request at a time (${how.latencyCount} per run, one per person); throughput runs ${how.throughputSeconds} s per server per round. The gateway's call includes reading and decrypting the connection, the guard (its in-process sliding window), signing, and the stand-in's own work, which the direct call also pays. Reproduce with \`npm run bench:xt\`.
`;
}

/** Writes xt-gateway.json and xt-gateway.md; the failed or non-2xx requests across all rounds. */
export function writeReport(machine: Machine, how: HowRun, rounds: Record<string, number>[]): number {
  const summary = summarize(rounds);
  const failures = rounds.map((x) => x.failures!).reduce((a, b) => a + b, 0);
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'xt-gateway.json'),
    JSON.stringify({ machine, summary, failures, rounds }, null, 2) + '\n',
  );
  fs.writeFileSync(path.join(dir, 'xt-gateway.md'), markdown(machine, how, summary, failures));
  return failures;
}

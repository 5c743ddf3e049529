/**
 * The topology run's figures, written to bench/results/topology.md: the machine and the tools, the
 * Chromium walk, TRUST_PROXY, the load and its two restarts, the refreshes, the resources (for
 * sizing), and the assertions that failed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ACCESS_TTL_S,
  AUTH_RATE_LIMIT,
  RATE,
  REDIS_DOWN_MS,
  REDIS_GRACE_MS,
  REFRESH_SKEW_MS,
  ROOT,
  SESSIONS,
  failures,
  runStarted,
  say,
} from './common.js';
import type { Proc } from './procs.js';
import type { Refreshes } from './refreshes.js';
import { type Requests, relTo } from './requests.js';
import type { Replica, Topology } from './topology.js';
import type { LoadRun } from './underLoad.js';

export type Versions = ReturnType<typeof toolVersions>;

/** Node's, nginx's and Redis's versions and the CPUs (read at the start: a missing tool fails the run there). */
export function toolVersions() {
  return {
    node: process.version,
    nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8' })
      .stderr.trim()
      .replace(/^nginx version: /, ''),
    redis: (/v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?').trim(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? '?',
  };
}

/** Everything the report is written from. */
export interface Findings {
  t: Topology;
  versions: Versions;
  browserFacts: Record<string, string>;
  trustFacts: Record<string, string>;
  run: LoadRun;
  q: Requests;
  refreshes: Refreshes;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;
const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

/** nginx's access log: which replica answered, and how many requests went to a second one. */
function nginxUpstreams(nginx: Proc) {
  const access = nginx.out.split('\n').filter((l) => l.includes(' upstream='));
  const upstreamCounts: Record<string, number> = {};
  const retried = { refused: 0, unavailable: 0 };
  for (const l of access) {
    const u = /upstream=(\S+(?:, \S+)*) upstream_status/.exec(l)?.[1] ?? '-';
    const first = /upstream_status=(\d+),/.exec(l)?.[1];
    if (first === '502')
      retried.refused++; // nginx logs a refused connection as 502 for that attempt
    else if (first) retried.unavailable++;
    const last = u.split(', ').pop()!;
    upstreamCounts[last] = (upstreamCounts[last] ?? 0) + 1;
  }
  return { upstreamCounts, retried };
}

/** CPU seconds of a replica over the load (every lifetime's CPU seconds since the load began). */
const cpuOf = (r: Replica) =>
  [...r.lastByGen.entries()].reduce(
    (n, [gen, s]) => n + (r.cpuAtLoadStart.has(gen) ? s.cpu - (r.cpuAtLoadStart.get(gen) ?? 0) : 0),
    0,
  );

function intro({ versions, run }: Findings, duration: number): string {
  return `# Topology run (nginx → two replicas → Redis)

Written by \`npm run topology\` (test/topology/run.ts) on ${new Date().toISOString().slice(0, 10)}: ${versions.cpus} × ${versions.cpuModel},
Node ${versions.node}, ${versions.nginx}, Redis ${versions.redis}. Everything on one machine, on 127.0.0.1:
nginx with the real \`deploy/nginx.conf\` (TLS, self-signed), two replicas (\`node scripts/start.mjs\`, NODE_ENV=production,
SESSION_STORE=redis, TRUST_PROXY=1, SHUTDOWN_DRAIN=2s), one redis-server (append-only file), the stand-ins
(access tokens of ${ACCESS_TTL_S} s, REFRESH_SKEW=${REFRESH_SKEW_MS / 1000}s) and the load generator, all sharing the same ${versions.cpus} CPUs.
The machine's load average (1 min) was ${run.loadavgAtStart.toFixed(1)} when the load began and ${run.loadavgAtEnd.toFixed(1)} when it ended: whatever else runs there shows in the latencies.
Run time ${Math.round(duration)} s (with the build before it: add its time).

Result: **${failures.length === 0 ? 'pass' : `FAIL (${failures.length})`}**.`;
}

function chromiumAndTrust({ browserFacts, trustFacts }: Findings): string {
  return `## Chromium through nginx

| step | served by |
| --- | --- |
| callback (the connection is made) | ${browserFacts.callback} |
| that replica gets SIGTERM and exits 0 | |
| /account after the token expired (the refresh) | ${browserFacts.refresh} |
| Disconnect (POST /auth/xt/logout) | ${browserFacts.disconnect} |

## TRUST_PROXY

- Audit: ${trustFacts.audit}.
- Rate limit (AUTH_RATE_LIMIT=${AUTH_RATE_LIMIT}/min per client, counted in Redis for both replicas), each request with a different forged X-Forwarded-For: ${trustFacts.rateLimit}.
- The load's ${SESSIONS} sessions came from ${SESSIONS} addresses (127.0.1.x) and the churn from 127.0.101.x+: none was limited.`;
}

function load({ t, run: { result }, q }: Findings, loadSeconds: number): string {
  const { during, kinds, latencies, allFailed, lost } = q;
  const { upstreamCounts, retried } = nginxUpstreams(t.nginx);
  return `## Load

${SESSIONS} sessions connected through nginx in ${(result.connectMs / 1000).toFixed(1)} s (login → the stand-in's form → callback, 8 at a time). Then ${loadSeconds.toFixed(1)} s of
open-loop traffic at ${RATE} requests/s over them (${kinds.filter((k) => !k.startsWith('churn')).join(', ')}), plus 2 loops of a new person logging in
and disconnecting (${result.churnCycles.ok} cycles completed, ${result.churnCycles.failed} cut short by the Redis restart).

| | |
| --- | --- |
| requests through nginx during the load | ${during.length} (${(during.length / loadSeconds).toFixed(0)}/s) |
| outcomes | ${counts(q.byOutcome(during))} |
| failed (connection errors, 5xx other than the Redis restart's 503s, 429, 4xx, a session not connected) | ${allFailed.length} |
| latency of the successful ones | p50 ${ms(pct(latencies, 50))}, p95 ${ms(pct(latencies, 95))}, p99 ${ms(pct(latencies, 99))}, max ${ms(pct(latencies, 100))} |
| answered by (nginx's log, whole run) | ${counts(upstreamCounts)} |
| passed on to the other replica by nginx (whole run) | ${retried.refused} after a refused connection (a stopped replica), ${retried.unavailable} after a 503 (Redis away; the other answered 503 too) |
| sessions still connected at the end | ${result.check.length - lost.length} of ${SESSIONS} |

| kind | requests | p50 | p95 | p99 |
| --- | --- | --- | --- | --- |
${kinds
  .map((k) => {
    const xs = during.filter((r) => r.k === k && q.outcome(r) === 'ok').map((r) => r.ms);
    return `| ${k} | ${during.filter((r) => r.k === k).length} | ${ms(pct(xs, 50))} | ${ms(pct(xs, 95))} | ${ms(pct(xs, 99))} |`;
  })
  .join('\n')}`;
}

function restarts({ run, q }: Findings): string {
  const { restarted, replicaWindow, redisWindow } = run;
  const { inReplicaWindow, inRedisWindow, redis5xx } = q;
  const rel = relTo(run.result.loadStartedAt);
  return `### Replica ${restarted.name} restarted (SIGTERM at ${rel(replicaWindow.sigterm)})

Drained for 2 s, exited with ${replicaWindow.code} at ${rel(replicaWindow.exited)} (${replicaWindow.exited - replicaWindow.sigterm} ms after SIGTERM), ready again at ${rel(replicaWindow.ready)}.
Requests overlapping that window (to 1 s after it was ready): ${inReplicaWindow.length}; failed: **${q.failed(inReplicaWindow).length}**; outcomes: ${JSON.stringify(q.byOutcome(inReplicaWindow))}.

### Redis restarted (SIGTERM at ${rel(redisWindow.stop)})

Down from ${rel(redisWindow.stop)} to ${rel(redisWindow.up)} (${redisWindow.up - redisWindow.stop} ms, ${REDIS_DOWN_MS} ms of it stopped), both replicas ready at ${rel(redisWindow.ready)}.
Requests overlapping that window (to ${REDIS_GRACE_MS / 1000} s after both were ready): ${inRedisWindow.length}; 5xx: ${redis5xx.length}, of them 503 with Retry-After: **${redis5xx.filter((r) => r.s === 503 && r.ra).length}**, other 5xx: **${redis5xx.filter((r) => !(r.s === 503 && r.ra)).length}**; connection errors: ${inRedisWindow.filter((r) => r.s === 0).length}.
${redis5xx.length ? `The last 503 started at ${rel(Math.max(...redis5xx.map((r) => r.t)))}.` : ''} Sessions survive because Redis writes an append-only file and flushes it on SIGTERM.`;
}

function refreshTable({ t, refreshes: f }: Findings): string {
  const { rt, rtBefore, perSession } = f;
  return `## Refreshes

| | |
| --- | --- |
| refresh-token grants at the stand-in during the load | ${rt.presented - rtBefore.presented} (whole run ${rt.presented}) |
| refresh tokens presented twice | **${rt.reused}** |
| per session (the ${SESSIONS} of the load) | min ${Math.min(...perSession)}, median ${pct(perSession, 50)}, max ${Math.max(...perSession)} (${f.loadUsers.length} sessions refreshed) |
| "tokens refreshed" in the replicas' logs | ${f.logged.map((n, i) => `${t.replicas[i]!.name}: ${n}`).join(', ')} (sum ${f.loggedSum}) |
| xtc_refreshes_total by outcome, both replicas, every lifetime (last scrape of each) | ${['ok', 'skipped_by_lock', 'transient', 'rejected'].map((o) => `${o}: ${f.metricSum(o)}`).join(', ')} |
| ok: scraped / logged, per process lifetime | ${f.lifetimes.map((l) => `${l.replica}#${l.gen}${l.running ? '' : ' (stopped)'}: ${l.metric} / ${l.logs}`).join(', ')} |`;
}

function resources({ t, q }: Findings, loadSeconds: number): string {
  const { replicas, redisPort } = t;
  const redisInfo = execFileSync('redis-cli', ['-p', String(redisPort), 'info', 'memory'], { encoding: 'utf8' });
  const redisKeys = execFileSync('redis-cli', ['-p', String(redisPort), 'dbsize'], { encoding: 'utf8' }).trim();
  const redisMem = /used_memory_human:(\S+)/.exec(redisInfo)?.[1] ?? '?';
  const cpuTotal = replicas.reduce((n, r) => n + cpuOf(r), 0);
  const requests = q.during.length;
  return `## Resources (sizing)

| replica | CPU during the load | RSS, highest seen | RSS at the end |
| --- | --- | --- | --- |
${replicas
  .map(
    (r) =>
      `| ${r.name} | ${cpuOf(r).toFixed(1)} CPU-s (${((cpuOf(r) / loadSeconds) * 100).toFixed(0)} % of one core) | ${(r.maxRss / 2 ** 20).toFixed(0)} MB | ${((r.lastByGen.get(r.proc.gen)?.rss ?? 0) / 2 ** 20).toFixed(0)} MB |`,
  )
  .join('\n')}

Both replicas together: ${cpuTotal.toFixed(1)} CPU-s for ${requests} requests, about ${((cpuTotal * 1000) / requests).toFixed(1)} ms of replica CPU per
request of this mix, so one core serves roughly ${Math.round(requests / cpuTotal)} requests/s of it (nginx's TLS, Redis and the stand-ins not included).
Redis at the end: ${redisKeys} keys, ${redisMem} used.`;
}

export function writeReport(f: Findings): void {
  const { result } = f.run;
  const loadSeconds = (result.loadEndedAt - result.loadStartedAt) / 1000;
  const sizing = resources(f, loadSeconds);
  const duration = (Date.now() - runStarted) / 1000;
  const md = `${intro(f, duration)}

${chromiumAndTrust(f)}

${load(f, loadSeconds)}

${restarts(f)}

${refreshTable(f)}

${sizing}

${failures.length ? `## Failed assertions\n\n${failures.map((f) => `- ${f}`).join('\n')}\n` : ''}`;
  fs.writeFileSync(path.join(ROOT, 'bench/results/topology.md'), md);
  say(`figures written to bench/results/topology.md (${Math.round(duration)} s)`);
}

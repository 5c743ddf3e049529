/**
 * bench/memory.ts's results: the numbers the goal is judged on, and the report, printed and written
 * to bench/results/memory.md, with the raw numbers and the summary in memory.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, r2 } from '../lib.js';
import { type Milestone, type Reading, type Sample, type SliceRun, lsSlopePerMin, mean, thirds } from './readings.js';
import { GOAL, ROUTES } from './settings.js';

/** What a run measured (memory.json holds this, with the summary below merged in). */
export interface Raw {
  date: string;
  node: string;
  cpu: string;
  entry: string;
  loadAverageAtStart: number;
  settings: {
    sessions: number;
    soakSeconds: number;
    concurrency: number;
    lanes: number;
    connectionsPerLane: number;
    sliceSeconds: number;
    sampleSeconds: number;
  };
  login: {
    seconds: number;
    loginsPerSec: number;
    retries: number;
    stored: { connections: number; sessions: number; fileMb: number };
    checked: number;
    milestones: Milestone[];
  };
  soak: {
    seconds: number;
    loadAverageBefore: number;
    samples: Sample[];
    idle: (Sample & { seconds: number }) | null;
    runs: SliceRun[];
  };
  problems: string[];
  elapsedSeconds: number;
}

type Summary = ReturnType<typeof summarize>;

/** Each route's share of the soak: slices, requests, throughput, mean p50 and p99, failures, sessions used. */
function byRoute(soak: Raw['soak']) {
  return ROUTES.map((route) => {
    const mine = soak.runs.filter((r) => r.route === route);
    const requests = mine.reduce((a, r) => a + r.result.requests, 0);
    return {
      route,
      slices: mine.length,
      requests,
      rps: Math.round(requests / soak.seconds),
      p50: Math.round(mean(mine.map((r) => r.result.p50))),
      p99: Math.round(mean(mine.map((r) => r.result.p99))),
      non2xx: mine.reduce((a, r) => a + r.result.non2xx, 0),
      errors: mine.reduce((a, r) => a + r.result.errors, 0),
      sessions: new Set(mine.map((r) => r.cookieIndex)).size,
    };
  });
}

/**
 * The numbers the goal is judged on. The soak's first sample is taken before the load starts;
 * min, max, thirds and slope are over the samples under load (the jump when load starts is
 * headroom for requests in flight, not growth). The peak is over every reading, that one included.
 */
function summarize(raw: Raw) {
  const { settings: set, soak } = raw;
  const loaded = soak.samples.filter((x) => x.t > 0).length > 1 ? soak.samples.filter((x) => x.t > 0) : soak.samples;
  const rssSeries = loaded.map((x) => ({ t: x.t, y: x.rssMb }));
  const heapSeries = loaded.filter((x) => x.heapMb !== null).map((x) => ({ t: x.t, y: x.heapMb! }));
  const third = thirds(rssSeries);
  const rss = {
    min: Math.min(...rssSeries.map((p) => p.y)),
    max: Math.max(...rssSeries.map((p) => p.y)),
    thirds: third,
    lsSlopeMbPerMin: r2(lsSlopePerMin(rssSeries)),
  };
  const heap = heapSeries.length
    ? { thirds: thirds(heapSeries), lsSlopeMbPerMin: r2(lsSlopePerMin(heapSeries)) }
    : null;
  const peak = Math.max(...soak.samples.map((x) => x.rssMb), ...raw.login.milestones.map((m) => m.rssMb));
  const judged = set.sessions >= GOAL.sessions && set.soakSeconds >= GOAL.soakSeconds;
  const underCap = peak <= GOAL.rssMb;
  const flat = third.deltaMb <= GOAL.flatMb;
  const goal = { ...GOAL, judged, met: judged && underCap && flat, peakRssMb: peak, underCap, flat };
  return {
    goal,
    rss,
    heap,
    byRoute: byRoute(soak),
    distinctSessions: new Set(soak.runs.map((r) => r.cookieIndex)).size,
  };
}

const plus = (x: number) => `${x >= 0 ? '+' : ''}${x}`;

/** The goal's verdict: not judged (a shorter run), met, or missed and why. */
function verdict(raw: Raw, { goal, rss }: Summary): string {
  const set = raw.settings;
  const third = rss.thirds;
  if (!goal.judged)
    return `**not judged**: this run had ${set.sessions} sessions and a ${set.soakSeconds} s soak, the goal is about ${GOAL.sessions} and ${GOAL.soakSeconds} s`;
  if (goal.met)
    return `**met**: RSS peaked at ${goal.peakRssMb} MB (≤ ${GOAL.rssMb} MB), and under load the last third of the soak averaged ${plus(third.deltaMb)} MB on its first third (flat)`;
  return `**missed**: ${[
    goal.underCap
      ? `RSS peaked at ${goal.peakRssMb} MB (within ${GOAL.rssMb} MB)`
      : `RSS peaked at ${goal.peakRssMb} MB, over ${GOAL.rssMb} MB`,
    goal.flat
      ? `it was flat under load (last third ${plus(third.deltaMb)} MB on the first)`
      : `it was not flat: under load the last third of the soak averaged ${plus(third.deltaMb)} MB on its first third (more than ${GOAL.flatMb} MB)`,
  ].join('; ')}`;
}

const mb = (h: number | null) => (h === null ? '–' : `${Math.round(h)} MB`);
const row = (label: string, x: Reading) =>
  `| ${label} | ${x.rssMb} MB | ${mb(x.heapMb)} | ${mb(x.heapTotalMb)} | ${mb(x.externalMb)} |`;

/** The title, the goal and its verdict, and how the run was made. */
function introLines(raw: Raw, summary: Summary): string[] {
  return [
    '# Memory: RSS with 20,000 connected sessions, and under 2 minutes of load',
    '',
    `Goal (performance issue): RSS with ${GOAL.sessions.toLocaleString('en')} connected sessions, and after 2 minutes of load, ≤ ${GOAL.rssMb} MB, flat. ${verdict(raw, summary)}.`,
    '',
    `Flat here means: over the soak's samples under load, the mean RSS of the last third is at most ${GOAL.flatMb} MB above the mean of the first third.`,
    '',
    `${raw.date}, Node ${raw.node}, ${raw.cpu}, load average ${raw.loadAverageAtStart} at the start and ${raw.soak.loadAverageBefore} before the soak (other work on the machine shows here). The app (\`${raw.entry}\`, production mode, SQLite, LOG_LEVEL=warn, METRICS_PORT on), the XT.COM stand-in and autocannon each their own process, all on 127.0.0.1. RSS from /proc/<pid>/status of the app; heap used, heap total and external from its /metrics. The whole run took ${Math.round(raw.elapsedSeconds)} s.`,
    '',
  ];
}

/** The login phase: how fast, what the store held, and the readings at each milestone. */
function loginLines({ settings: set, login }: Raw): string[] {
  return [
    `## Connecting ${set.sessions.toLocaleString('en')} people`,
    '',
    `Each a real login: \`/auth/xt/login\` → the stand-in's Authorize (a distinct XT.COM user each) → \`/auth/xt/callback\`, ${set.concurrency} in flight. ${set.sessions.toLocaleString('en')} connected in ${login.seconds} s (${Math.round(login.loginsPerSec)} logins/s${login.retries ? `, ${login.retries} retried` : ''}); the store then held ${login.stored.connections} live connections and ${login.stored.sessions} sessions (${login.stored.fileMb} MB on disk). ${login.checked} sessions, spread evenly, checked on both routes before the soak.`,
    '',
    '| connected sessions | RSS | heap used | heap total | external | time |',
    '| --- | --- | --- | --- | --- | --- |',
    ...login.milestones.map((m) => `${row(m.sessions.toLocaleString('en'), m)} ${m.elapsedS} s |`),
    '',
  ];
}

/** The soak: the load per route, RSS and heap under it, every sample, and the idle reading after it. */
function soakLines({ settings: set, soak }: Raw, { rss, heap, byRoute, distinctSessions }: Summary): string[] {
  const third = rss.thirds;
  return [
    `## Soak: ${set.soakSeconds} s of load`,
    '',
    `${set.lanes} autocannon processes side by side (${set.connectionsPerLane} connections each, ${set.connectionsPerLane * set.lanes} in all), half on \`GET /api/session\`, half on \`GET /account\`, in slices of ${set.sliceSeconds} s, each slice with another session's cookie: ${soak.runs.length} slices over ${distinctSessions} distinct sessions drawn evenly from all ${set.sessions.toLocaleString('en')}. RSS and heap every ${set.sampleSeconds} s.`,
    '',
    '| route | requests | req/s | p50 ms | p99 ms | non-2xx | errors | sessions used |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...byRoute.map(
      (r) =>
        `| ${r.route} | ${r.requests} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${r.sessions} |`,
    ),
    '',
    `RSS under load: min **${rss.min} MB**, max **${rss.max} MB**; last third ${third.lastMb} MB against first third ${third.firstMb} MB: **${plus(third.deltaMb)} MB** (${third.perMin} MB/min); least-squares slope ${rss.lsSlopeMbPerMin} MB/min.` +
      (heap
        ? ` Heap used: last third ${heap.thirds.lastMb} MB against first third ${heap.thirds.firstMb} MB (${heap.thirds.perMin} MB/min).`
        : ''),
    '',
    '| t | RSS | heap used | heap total | external |',
    '| --- | --- | --- | --- | --- |',
    ...soak.samples.map((x) => row(x.t > 0 ? `${Math.round(x.t)} s` : '0 s (before the load)', x)),
    ...(soak.idle ? [row(`${Math.round(soak.idle.t)} s, after ${soak.idle.seconds} s idle`, soak.idle)] : []),
    '',
  ];
}

export function writeResults(raw: Raw): void {
  const summary = summarize(raw);
  const { goal, rss, heap, byRoute, distinctSessions } = summary;
  const md = [
    ...introLines(raw, summary),
    ...loginLines(raw),
    ...soakLines(raw, summary),
    ...(raw.problems.length
      ? [`**Wrong answers (${raw.problems.length}):**`, '', ...raw.problems.slice(0, 20).map((x) => `- ${x}`), '']
      : []),
    'Reproduce: `npm run bench:memory` (SESSIONS, SOAK_SECONDS, CONCURRENCY, LANES, CONNECTIONS, SLICE_SECONDS, SAMPLE_SECONDS, IDLE_SECONDS change the run; `SMOKE=1 SESSIONS=50 SOAK_SECONDS=3` only checks the answers; `REPORT_ONLY=1` rewrites memory.md from memory.json).',
    '',
  ].join('\n');
  const json = { ...raw, goal, soak: { ...raw.soak, rss, heap, byRoute, distinctSessions } };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/memory.md'), md);
  fs.writeFileSync(path.join(ROOT, 'bench/results/memory.json'), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(md);
}

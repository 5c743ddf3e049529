/**
 * Memory: the app's RSS with SESSIONS people connected for real (login → the XT.COM stand-in's
 * Authorize → callback, each a distinct XT.COM user, SQLite, production mode), then under
 * SOAK_SECONDS of load on GET /api/session and GET /account spread across those sessions.
 *
 * The app, the XT.COM stand-in and the load generator (autocannon) are each their own process;
 * everything goes to 127.0.0.1. RSS is read from /proc/<app pid>/status; heap used from the app's
 * own Prometheus listener (METRICS_PORT, on as in the compose file and the Kubernetes example).
 *
 *   login phase: CONCURRENCY logins in flight (default 16) until SESSIONS (default 20000) are
 *                connected; RSS and heap at 0, 1000, 5000, 10000, 20000 sessions, and the time.
 *   soak:        LANES autocannon processes side by side (default 4, half on /api/session, half on
 *                /account, CONNECTIONS in flight in all, default 32), each running back-to-back
 *                slices of SLICE_SECONDS (default 10) with another session's cookie each slice,
 *                the cookies drawn evenly from across all the connected sessions. RSS and heap
 *                every SAMPLE_SECONDS (default 10); the series, min, max and slope are reported.
 *   idle:        IDLE_SECONDS (default 15) with no load, then one more reading (does RSS come back?).
 *
 *   npm run bench:memory        (about 4 to 5 minutes; writes bench/results/memory.md and memory.json)
 *   REPORT_ONLY=1 npx tsx bench/memory.ts   (memory.md again from memory.json; nothing run)
 *   SMOKE=1 SESSIONS=50 SOAK_SECONDS=3 npx tsx bench/memory.ts   (every answer is checked; nothing
 *                written, no memory or timing asserted)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { freePort } from '../test/helpers/ports.js';
import {
  type LoadResult,
  type Proc,
  ROOT,
  TSX,
  autocannon,
  loadAverage,
  r2,
  rssMb,
  runMain,
  startProcess,
} from './lib.js';
import { benchAppEnv, connectXt, serverEntry } from './apps.js';

const SMOKE = process.env.SMOKE === '1';
const SESSIONS = Number(process.env.SESSIONS ?? 20_000);
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const LANES = Math.max(1, Number(process.env.LANES ?? 4));
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const SLICE_SECONDS = Number(process.env.SLICE_SECONDS ?? 10);
const SAMPLE_SECONDS = Number(process.env.SAMPLE_SECONDS ?? 10);
/** After the soak, this long with no load, then one more reading: does RSS come back down (GC headroom) or stay (retained)? */
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? (SMOKE ? 0 : 15));
const CLIENT_SECRET = `bench-client-secret-${randomBytes(8).toString('hex')}`;

/** The goal from the performance issue. */
const GOAL = { sessions: 20_000, soakSeconds: 120, rssMb: 200, flatMb: 10 };

const ROUTES = ['/api/session', '/account'] as const;
type Route = (typeof ROUTES)[number];

/** What a correct answer looks like on each route, for a connected person. */
const CORRECT: Record<Route, (status: number, body: string) => boolean> = {
  '/api/session': (s, b) => s === 200 && /"connected":true/.test(b),
  '/account': (s, b) => s === 200 && /data-state="connected"|Disconnect/.test(b),
};

/** One person connected, tried up to three times (a reset socket among 20,000 logins is not the app's memory). */
async function connectWithRetry(app: string, user: number): Promise<{ cookie: string; retries: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return { cookie: (await connectXt(app, user)).cookie, retries: attempt };
    } catch (err) {
      if (attempt >= 2)
        throw new Error(
          `login of user ${user} failed three times: ${err instanceof Error ? err.message : String(err)}`,
        );
    }
  }
}

async function checkAnswer(app: string, route: Route, cookie: string): Promise<string | undefined> {
  const res = await fetch(`${app}${route}`, { headers: { cookie } });
  const body = await res.text();
  return CORRECT[route](res.status, body) ? undefined : `${route} answered ${res.status}: ${body.slice(0, 200)}`;
}

/** Rows in the app's SQLite file (read-only, from this process): live XT.COM connections and sessions, and the files' size. */
function countStored(dataDir: string): { connections: number; sessions: number; fileMb: number } {
  const file = path.join(dataDir, 'xt-connect.sqlite');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const n = (sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;
    const bytes = ['', '-wal'].reduce((a, x) => a + (fs.existsSync(file + x) ? fs.statSync(file + x).size : 0), 0);
    return {
      connections: n("SELECT COUNT(*) AS n FROM connections WHERE provider = 'xt' AND expires > ?", Date.now()),
      sessions: n('SELECT COUNT(*) AS n FROM sessions WHERE expires > ?', Date.now()),
      fileMb: r2(bytes / 2 ** 20),
    };
  } finally {
    db.close();
  }
}

// ---- Memory readings ----

interface Reading {
  rssMb: number;
  /** V8 heap used, heap total (what V8 holds) and external memory (Buffers and the like), MB, from the app's /metrics; null when they could not be read. */
  heapMb: number | null;
  heapTotalMb: number | null;
  externalMb: number | null;
}

async function reading(pid: number, metricsUrl: string): Promise<Reading> {
  const rss = rssMb(pid);
  const text = await fetch(metricsUrl).then(
    (r) => r.text(),
    () => '',
  );
  const mb = (name: string) => {
    const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
    return m ? r2(Number(m[1]) / 2 ** 20) : null;
  };
  return {
    rssMb: rss,
    heapMb: mb('nodejs_heap_size_used_bytes'),
    heapTotalMb: mb('nodejs_heap_size_total_bytes'),
    externalMb: mb('nodejs_external_memory_bytes'),
  };
}

interface Milestone extends Reading {
  sessions: number;
  elapsedS: number;
}

interface Sample extends Reading {
  t: number;
}

interface SliceRun {
  lane: number;
  route: Route;
  cookieIndex: number;
  seconds: number;
  startedAtS: number;
  result: LoadResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Least-squares slope of y over t (seconds), in units per minute. */
function lsSlopePerMin(points: { t: number; y: number }[]): number {
  const mt = mean(points.map((p) => p.t));
  const my = mean(points.map((p) => p.y));
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
}

/** The last third of the series against its first third: their mean difference, and that per minute. */
function thirds(points: { t: number; y: number }[]): {
  firstMb: number;
  lastMb: number;
  deltaMb: number;
  perMin: number;
} {
  const k = Math.max(1, Math.floor(points.length / 3));
  const first = points.slice(0, k);
  const last = points.slice(-k);
  const firstMb = mean(first.map((p) => p.y));
  const lastMb = mean(last.map((p) => p.y));
  const dt = mean(last.map((p) => p.t)) - mean(first.map((p) => p.t));
  return {
    firstMb: r2(firstMb),
    lastMb: r2(lastMb),
    deltaMb: r2(lastMb - firstMb),
    perMin: dt > 0 ? r2(((lastMb - firstMb) / dt) * 60) : 0,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadAverage();
  const problems: string[] = [];
  const note = (p: string) => {
    if (SMOKE) throw new Error(p);
    problems.push(p);
    process.stderr.write(`WRONG ANSWER: ${p}\n`);
  };

  const xt = await startProcess(TSX, ['bench/servers/xt-standin.ts', String(await freePort())], {
    XT_CLIENT_SECRET: CLIENT_SECRET,
  });
  running.push(xt);
  const port = await freePort();
  const metricsPort = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const entry = serverEntry(ROOT);
  const env: NodeJS.ProcessEnv = {
    ...benchAppEnv(port, xt.url, CLIENT_SECRET, 'memory'),
    METRICS_PORT: String(metricsPort),
    METRICS_HOST: '127.0.0.1',
    // APP_NODE_OPTIONS / APP_MALLOC_ARENA_MAX: runtime settings for the app alone, to compare them.
    ...(process.env.APP_NODE_OPTIONS ? { NODE_OPTIONS: process.env.APP_NODE_OPTIONS } : {}),
    ...(process.env.APP_MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.APP_MALLOC_ARENA_MAX } : {}),
  };
  const app: Proc = await startProcess(process.execPath, [entry], env, { health: appUrl });
  running.push(app);
  watchExit(app, 'the app');
  await sleep(1000); // let start-up settle before the first reading

  // ---- 1. Connect SESSIONS people, CONCURRENCY at a time ----
  const marks = [...new Set([0, 1000, 5000, 10_000, 20_000].filter((m) => m <= SESSIONS).concat(SESSIONS))].sort(
    (a, b) => a - b,
  );
  const milestones: Milestone[] = [{ sessions: 0, elapsedS: 0, ...(await reading(app.pid, metricsUrl)) }];
  const cookies: string[] = new Array<string>(SESSIONS);
  let next = 0;
  let done = 0;
  let retries = 0;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, SESSIONS) }, async () => {
      for (let i = next++; i < SESSIONS; i = next++) {
        const r = await connectWithRetry(appUrl, i);
        cookies[i] = r.cookie;
        retries += r.retries;
        done++;
        if (done % 1000 === 0)
          process.stderr.write(`${done}/${SESSIONS} connected (${Math.round((performance.now() - t0) / 1000)} s)\n`);
        if (marks.includes(done) && done > 0) {
          const sessions = done;
          const elapsedS = r2((performance.now() - t0) / 1000);
          const rss = rssMb(app.pid); // read now; the scrape below may land a little later
          pending.push(
            reading(app.pid, metricsUrl).then((x) => void milestones.push({ sessions, elapsedS, ...x, rssMb: rss })),
          );
        }
      }
    }),
  );
  await Promise.all(pending);
  milestones.sort((a, b) => a.sessions - b.sessions);
  const loginSeconds = r2((performance.now() - t0) / 1000);
  // What the store holds now: a live connection and a session per person.
  const stored = countStored(env.DATA_DIR!);
  if (stored.connections !== SESSIONS)
    note(`the store holds ${stored.connections} live XT.COM connections, not ${SESSIONS}`);

  // Every cookie answers as connected in a smoke run; 200 of them, spread evenly, otherwise.
  const checkEvery = SMOKE ? 1 : Math.max(1, Math.floor(SESSIONS / 200));
  let checked = 0;
  for (let i = 0; i < SESSIONS; i += checkEvery) {
    for (const route of ROUTES) {
      const wrong = await checkAnswer(appUrl, route, cookies[i]!);
      if (wrong) note(`session ${i}: ${wrong}`);
    }
    checked++;
  }

  // ---- 2. The soak: LANES autocannon processes, each slice another session's cookie ----
  const slicesPerLane = Math.max(1, Math.ceil(SOAK_SECONDS / SLICE_SECONDS));
  const planned = LANES * slicesPerLane;
  const perLane = Math.max(1, Math.round(CONNECTIONS / LANES));
  let sliceNo = 0;
  const cookieFor = (j: number) => Math.floor(((j + 0.5) * SESSIONS) / planned) % SESSIONS;
  const runs: SliceRun[] = [];
  const samples: Sample[] = [];
  const loadBefore = loadAverage();
  const s0 = performance.now();
  const since = () => (performance.now() - s0) / 1000;
  samples.push({ t: 0, ...(await reading(app.pid, metricsUrl)) });

  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    const route: Route = ROUTES[lane % ROUTES.length]!;
    for (;;) {
      const left = SOAK_SECONDS - since();
      if (left < 1) return;
      const cookieIndex = cookieFor(sliceNo++);
      const cookie = cookies[cookieIndex]!;
      const wrong = await checkAnswer(appUrl, route, cookie);
      if (wrong) note(`soak, session ${cookieIndex}: ${wrong}`);
      const seconds = Math.max(1, Math.min(SLICE_SECONDS, Math.round(left)));
      const startedAtS = r2(since());
      const result = await autocannon(`${appUrl}${route}`, { connections: perLane, seconds, headers: { cookie } });
      runs.push({ lane, route, cookieIndex, seconds, startedAtS, result });
      if (result.non2xx > 0 || result.errors > 0)
        note(`soak, ${route} with session ${cookieIndex}: ${result.non2xx} non-2xx and ${result.errors} errors`);
    }
  });
  const sampler = (async () => {
    for (let k = 1; k * SAMPLE_SECONDS <= SOAK_SECONDS; k++) {
      await sleep(Math.max(0, k * SAMPLE_SECONDS * 1000 - (performance.now() - s0)));
      samples.push({ t: r2(since()), ...(await reading(app.pid, metricsUrl)) });
      process.stderr.write(`soak ${Math.round(since())}/${SOAK_SECONDS} s: RSS ${samples.at(-1)!.rssMb} MB\n`);
    }
  })();
  await Promise.all([...lanes, sampler]);
  // The lanes overrun the end a little (autocannon's start); one more sample only if that was a while.
  if (samples.at(-1)!.t < since() - SAMPLE_SECONDS / 2)
    samples.push({ t: r2(since()), ...(await reading(app.pid, metricsUrl)) });
  const soakSeconds = r2(since());
  await sleep(IDLE_SECONDS * 1000);
  const idle: Sample = { t: r2(since()), ...(await reading(app.pid, metricsUrl)) };

  await stopAll();

  if (SMOKE) {
    process.stdout.write(
      `bench:memory smoke: ${SESSIONS} sessions connected (${checked} checked on both routes), ${runs.length} soak slices, ` +
        `${runs.reduce((a, r) => a + r.result.requests, 0)} requests, every answer correct; RSS ${milestones.at(-1)!.rssMb} MB → ${samples.at(-1)!.rssMb} MB\n`,
    );
    return;
  }

  writeResults({
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}`,
    entry: path.relative(ROOT, entry),
    loadAverageAtStart: loadAtStart,
    settings: {
      sessions: SESSIONS,
      soakSeconds: SOAK_SECONDS,
      concurrency: CONCURRENCY,
      lanes: LANES,
      connectionsPerLane: perLane,
      sliceSeconds: SLICE_SECONDS,
      sampleSeconds: SAMPLE_SECONDS,
    },
    login: { seconds: loginSeconds, loginsPerSec: r2(SESSIONS / loginSeconds), retries, stored, checked, milestones },
    soak: {
      seconds: soakSeconds,
      loadAverageBefore: loadBefore,
      samples,
      idle: IDLE_SECONDS > 0 ? { seconds: IDLE_SECONDS, ...idle } : null,
      runs,
    },
    problems,
    elapsedSeconds: r2((performance.now() - started) / 1000),
  });
}

// ---- The results ----

/** What a run measured (memory.json holds this, with the summary below merged in). */
interface Raw {
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
  const byRoute = ROUTES.map((route) => {
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
  const peak = Math.max(...soak.samples.map((x) => x.rssMb), ...raw.login.milestones.map((m) => m.rssMb));
  const judged = set.sessions >= GOAL.sessions && set.soakSeconds >= GOAL.soakSeconds;
  const underCap = peak <= GOAL.rssMb;
  const flat = third.deltaMb <= GOAL.flatMb;
  const goal = { ...GOAL, judged, met: judged && underCap && flat, peakRssMb: peak, underCap, flat };
  return { goal, rss, heap, byRoute, distinctSessions: new Set(soak.runs.map((r) => r.cookieIndex)).size };
}

function writeResults(raw: Raw): void {
  const { settings: set, login, soak } = raw;
  const { goal, rss, heap, byRoute, distinctSessions } = summarize(raw);
  const third = rss.thirds;
  const plus = (x: number) => `${x >= 0 ? '+' : ''}${x}`;
  const verdict = !goal.judged
    ? `**not judged**: this run had ${set.sessions} sessions and a ${set.soakSeconds} s soak, the goal is about ${GOAL.sessions} and ${GOAL.soakSeconds} s`
    : goal.met
      ? `**met**: RSS peaked at ${goal.peakRssMb} MB (≤ ${GOAL.rssMb} MB), and under load the last third of the soak averaged ${plus(third.deltaMb)} MB on its first third (flat)`
      : `**missed**: ${[
          goal.underCap
            ? `RSS peaked at ${goal.peakRssMb} MB (within ${GOAL.rssMb} MB)`
            : `RSS peaked at ${goal.peakRssMb} MB, over ${GOAL.rssMb} MB`,
          goal.flat
            ? `it was flat under load (last third ${plus(third.deltaMb)} MB on the first)`
            : `it was not flat: under load the last third of the soak averaged ${plus(third.deltaMb)} MB on its first third (more than ${GOAL.flatMb} MB)`,
        ].join('; ')}`;
  const mb = (h: number | null) => (h === null ? '–' : `${Math.round(h)} MB`);
  const row = (label: string, x: Reading) =>
    `| ${label} | ${x.rssMb} MB | ${mb(x.heapMb)} | ${mb(x.heapTotalMb)} | ${mb(x.externalMb)} |`;
  const md = [
    '# Memory: RSS with 20,000 connected sessions, and under 2 minutes of load',
    '',
    `Goal (performance issue): RSS with ${GOAL.sessions.toLocaleString('en')} connected sessions, and after 2 minutes of load, ≤ ${GOAL.rssMb} MB, flat. ${verdict}.`,
    '',
    `Flat here means: over the soak's samples under load, the mean RSS of the last third is at most ${GOAL.flatMb} MB above the mean of the first third.`,
    '',
    `${raw.date}, Node ${raw.node}, ${raw.cpu}, load average ${raw.loadAverageAtStart} at the start and ${soak.loadAverageBefore} before the soak (other work on the machine shows here). The app (\`${raw.entry}\`, production mode, SQLite, LOG_LEVEL=warn, METRICS_PORT on), the XT.COM stand-in and autocannon each their own process, all on 127.0.0.1. RSS from /proc/<pid>/status of the app; heap used, heap total and external from its /metrics. The whole run took ${Math.round(raw.elapsedSeconds)} s.`,
    '',
    `## Connecting ${set.sessions.toLocaleString('en')} people`,
    '',
    `Each a real login: \`/auth/xt/login\` → the stand-in's Authorize (a distinct XT.COM user each) → \`/auth/xt/callback\`, ${set.concurrency} in flight. ${set.sessions.toLocaleString('en')} connected in ${login.seconds} s (${Math.round(login.loginsPerSec)} logins/s${login.retries ? `, ${login.retries} retried` : ''}); the store then held ${login.stored.connections} live connections and ${login.stored.sessions} sessions (${login.stored.fileMb} MB on disk). ${login.checked} sessions, spread evenly, checked on both routes before the soak.`,
    '',
    '| connected sessions | RSS | heap used | heap total | external | time |',
    '| --- | --- | --- | --- | --- | --- |',
    ...login.milestones.map((m) => `${row(m.sessions.toLocaleString('en'), m)} ${m.elapsedS} s |`),
    '',
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
    ...(raw.problems.length
      ? [`**Wrong answers (${raw.problems.length}):**`, '', ...raw.problems.slice(0, 20).map((x) => `- ${x}`), '']
      : []),
    'Reproduce: `npm run bench:memory` (SESSIONS, SOAK_SECONDS, CONCURRENCY, LANES, CONNECTIONS, SLICE_SECONDS, SAMPLE_SECONDS, IDLE_SECONDS change the run; `SMOKE=1 SESSIONS=50 SOAK_SECONDS=3` only checks the answers; `REPORT_ONLY=1` rewrites memory.md from memory.json).',
    '',
  ].join('\n');
  const json = { ...raw, goal, soak: { ...soak, rss, heap, byRoute, distinctSessions } };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/memory.md'), md);
  fs.writeFileSync(path.join(ROOT, 'bench/results/memory.json'), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(md);
}

/** What this run started, stopped (SIGTERM, then SIGKILL) however the run ends: the stand-in runs under tsx, whose child a bare SIGKILL would orphan. */
const running: Proc[] = [];
const stopAll = () => Promise.all(running.splice(0).map((p) => p.stop()));

/** A process that dies mid-run fails it with its exit code and the end of its output, instead of an ENOENT from /proc. */
function watchExit(p: Proc, name: string): void {
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  p.child.stdout?.on('data', keep);
  p.child.stderr?.on('data', keep);
  p.child.once('exit', (code, signal) => {
    if (!running.includes(p)) return;
    process.stderr.write(`${name} exited mid-run (code ${code}, signal ${signal}):\n${out}\n`);
    void stopAll().then(() => process.exit(1));
  });
}

runMain(async () => {
  // REPORT_ONLY=1: the report again from the last run's raw numbers (memory.json), nothing run.
  if (process.env.REPORT_ONLY === '1')
    return writeResults(JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/results/memory.json'), 'utf8')) as Raw);
  return main().finally(stopAll);
});

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
import path from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { type Proc, ROOT, cpuDescription, loadAverage, r2, runMain } from './lib.js';
import { benchClientSecret, serverEntry, startBuiltApp, startXtStandInProcess } from './apps.js';
import { type App, type Note, checkSessions, connectEveryone, countStored } from './memory/people.js';
import { type Raw, writeResults } from './memory/report.js';
import { type Soak, soak } from './memory/soak.js';
import {
  CONCURRENCY,
  IDLE_SECONDS,
  LANES,
  SAMPLE_SECONDS,
  SESSIONS,
  SLICE_SECONDS,
  SMOKE,
  SOAK_SECONDS,
} from './memory/settings.js';
import { type Sample, reading } from './memory/readings.js';

const CLIENT_SECRET = benchClientSecret();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadAverage();
  const problems: string[] = [];
  const note: Note = (p) => {
    if (SMOKE) throw new Error(p);
    problems.push(p);
    process.stderr.write(`WRONG ANSWER: ${p}\n`);
  };
  const { app, dataDir } = await startApp();
  await sleep(1000); // let start-up settle before the first reading

  // ---- 1. Connect SESSIONS people, CONCURRENCY at a time ----
  const { cookies, ...login } = await connectEveryone(app);
  // What the store holds now: a live connection and a session per person.
  const stored = countStored(dataDir);
  if (stored.connections !== SESSIONS)
    note(`the store holds ${stored.connections} live XT.COM connections, not ${SESSIONS}`);
  const checked = await checkSessions(app, cookies, note);

  // ---- 2. The soak: LANES autocannon processes, each slice another session's cookie; then idle ----
  const soaked = await soak(app, cookies, note);
  await sleep(IDLE_SECONDS * 1000);
  const idle: Sample = { t: r2(soaked.since()), ...(await reading(app.pid, app.metricsUrl)) };

  await stopAll();

  if (SMOKE) {
    process.stdout.write(
      `bench:memory smoke: ${SESSIONS} sessions connected (${checked} checked on both routes), ${soaked.runs.length} soak slices, ` +
        `${soaked.runs.reduce((a, r) => a + r.result.requests, 0)} requests, every answer correct; RSS ${login.milestones.at(-1)!.rssMb} MB → ${soaked.samples.at(-1)!.rssMb} MB\n`,
    );
    return;
  }
  writeResults({
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpuDescription(),
    entry: path.relative(ROOT, serverEntry(ROOT)),
    loadAverageAtStart: loadAtStart,
    settings: settingsOf(soaked),
    login: {
      seconds: login.seconds,
      loginsPerSec: r2(SESSIONS / login.seconds),
      retries: login.retries,
      stored,
      checked,
      milestones: login.milestones,
    },
    soak: soakOf(soaked, idle),
    problems,
    elapsedSeconds: r2((performance.now() - started) / 1000),
  });
}

/**
 * The XT.COM stand-in, then the app (built, production mode, SQLite) with its Prometheus listener
 * on; both stopped by stopAll, and the run ended if the app dies before.
 */
async function startApp(): Promise<{ app: App; dataDir: string }> {
  const xt = await startXtStandInProcess(CLIENT_SECRET);
  running.push(xt);
  const metricsPort = await freePort();
  const proc = await startBuiltApp(ROOT, xt.url, CLIENT_SECRET, 'memory', {
    METRICS_PORT: String(metricsPort),
    METRICS_HOST: '127.0.0.1',
    // APP_NODE_OPTIONS / APP_MALLOC_ARENA_MAX: runtime settings for the app alone, to compare them.
    ...(process.env.APP_NODE_OPTIONS ? { NODE_OPTIONS: process.env.APP_NODE_OPTIONS } : {}),
    ...(process.env.APP_MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.APP_MALLOC_ARENA_MAX } : {}),
  });
  running.push(proc);
  watchExit(proc, 'the app');
  const app = { pid: proc.pid, url: proc.url, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
  return { app, dataDir: proc.env.DATA_DIR! };
}

function settingsOf(soaked: Soak): Raw['settings'] {
  return {
    sessions: SESSIONS,
    soakSeconds: SOAK_SECONDS,
    concurrency: CONCURRENCY,
    lanes: LANES,
    connectionsPerLane: soaked.perLane,
    sliceSeconds: SLICE_SECONDS,
    sampleSeconds: SAMPLE_SECONDS,
  };
}

function soakOf(soaked: Soak, idle: Sample): Raw['soak'] {
  return {
    seconds: soaked.seconds,
    loadAverageBefore: soaked.loadBefore,
    samples: soaked.samples,
    idle: IDLE_SECONDS > 0 ? { seconds: IDLE_SECONDS, ...idle } : null,
    runs: soaked.runs,
  };
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

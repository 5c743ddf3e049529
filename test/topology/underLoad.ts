/**
 * 3. Load (test/topology/load.ts, its own process): SESSIONS people connected, SECONDS of mixed
 * traffic; meanwhile one replica gets SIGTERM and is started again, and Redis is restarted. Each
 * restart's window (when it was stopped, gone, back and ready) is recorded for the figures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  RATE,
  REDIS_DOWN_MS,
  REDIS_RESTART_AT,
  REPLICA_RESTART_AT,
  ROOT,
  SECONDS,
  SESSIONS,
  TMP,
  say,
  sleep,
  waitFor,
} from './common.js';
import type { LoadJob, LoadResult } from './load.js';
import { scrape } from './observe.js';
import { Proc } from './procs.js';
import { type Replica, type Stats, type Topology, ready, startReplica, stopReplica } from './topology.js';

export interface ReplicaWindow {
  name: string;
  sigterm: number;
  exited: number;
  ready: number;
  code: number | string;
}

export interface RedisWindow {
  stop: number;
  down: number;
  up: number;
  ready: number;
}

/** What the load phase saw: the generator's result, the restarts' windows, the stand-in's counters before it, the load average. */
export interface LoadRun {
  result: LoadResult;
  statsBeforeLoad: Stats;
  restarted: Replica;
  replicaWindow: ReplicaWindow;
  redisWindow: RedisWindow;
  loadavgAtStart: number;
  loadavgAtEnd: number;
}

/** The load generator, started on its job (written to a file); `job.out` is where its result will be. */
function startLoadGenerator(base: string, nginxDir: string): { load: Proc; job: LoadJob } {
  const job: LoadJob = {
    base,
    caFile: path.join(nginxDir, 'certs/tls.crt'),
    sessions: SESSIONS,
    seconds: SECONDS,
    rate: RATE,
    churnWorkers: 2,
    maxInFlight: 512,
    out: path.join(TMP, 'load-result.json'),
  };
  fs.writeFileSync(path.join(TMP, 'load-job.json'), JSON.stringify(job));
  const load = new Proc(
    'load',
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/topology/load.ts'), path.join(TMP, 'load-job.json')],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    },
  );
  load.start();
  return { load, job };
}

/** Once every person is connected and the traffic begins: when it began (the generator's clock). */
async function loadStart(load: Proc): Promise<number> {
  let loadStartedAt = 0;
  await waitFor('the load to start', 120_000, () => {
    const m = /"phase":"load","startedAt":(\d+)/.exec(load.out);
    if (m) loadStartedAt = Number(m[1]);
    if (!load.running && !m) throw new Error(`the load generator stopped:\n${load.tail()}`);
    return !!m;
  });
  return loadStartedAt;
}

/** At REPLICA_RESTART_AT of the load: SIGTERM to `restarted`, and once it has exited, it is started again. */
async function restartReplica(loadStartedAt: number, restarted: Replica, w: ReplicaWindow): Promise<void> {
  await sleep(loadStartedAt + SECONDS * 1000 * REPLICA_RESTART_AT - Date.now());
  say(`load: SIGTERM to replica ${restarted.name}`);
  w.sigterm = Date.now();
  w.code = await stopReplica(restarted);
  w.exited = Date.now();
  await startReplica(restarted);
  w.ready = Date.now();
  restarted.cpuAtLoadStart.set(restarted.proc.gen, 0); // a new process: all its CPU time is the load's
  say(`load: replica ${restarted.name} exited (${w.code}) after ${w.exited - w.sigterm} ms and is ready again`);
}

/** At REDIS_RESTART_AT of the load: Redis gets SIGTERM, stays down REDIS_DOWN_MS, starts again; then both replicas are ready. */
async function restartRedis(t: Topology, loadStartedAt: number, w: RedisWindow): Promise<void> {
  await sleep(loadStartedAt + SECONDS * 1000 * REDIS_RESTART_AT - Date.now());
  say('load: restarting Redis');
  w.stop = Date.now();
  t.redis.signal('SIGTERM');
  await t.redis.waitExit(15_000);
  w.down = Date.now();
  await sleep(REDIS_DOWN_MS);
  t.redis.start();
  await waitFor('redis-server again', 10_000, t.redisUp, 20);
  w.up = Date.now();
  await waitFor('both replicas ready after Redis', 20_000, async () =>
    (await Promise.all(t.replicas.map(ready))).every(Boolean),
  );
  w.ready = Date.now();
  say(`load: Redis was down ${w.up - w.stop} ms; both replicas ready ${w.ready - w.up} ms after it was back`);
}

export async function runUnderLoad(t: Topology): Promise<LoadRun> {
  const statsBeforeLoad = await t.stats();
  const { load, job } = startLoadGenerator(t.base, t.nginxDir);
  say(`load: connecting ${SESSIONS} people through nginx…`);
  const loadStartedAt = await loadStart(load);
  say(`load: ${/"phase":"connected"[^\n]*/.exec(load.out)?.[0] ?? ''}; ${SECONDS} s of traffic at ${RATE} requests/s`);
  const loadavgAtStart = os.loadavg()[0]!;
  for (const r of t.replicas) {
    const snap = await scrape(r);
    if (snap) r.cpuAtLoadStart.set(r.proc.gen, snap.cpu);
  }

  const restarted = t.replicas[1]!;
  const replicaWindow: ReplicaWindow = { name: restarted.name, sigterm: 0, exited: 0, ready: 0, code: '' };
  const redisWindow: RedisWindow = { stop: 0, down: 0, up: 0, ready: 0 };
  await restartReplica(loadStartedAt, restarted, replicaWindow);
  await restartRedis(t, loadStartedAt, redisWindow);
  await load.waitExit((SECONDS + 180) * 1000);
  if (!fs.existsSync(job.out)) throw new Error(`the load generator wrote no result:\n${load.tail()}`);
  const result = JSON.parse(fs.readFileSync(job.out, 'utf8')) as LoadResult;
  const loadavgAtEnd = os.loadavg()[0]!;
  return { result, statsBeforeLoad, restarted, replicaWindow, redisWindow, loadavgAtStart, loadavgAtEnd };
}

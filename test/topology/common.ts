/**
 * What every part of the topology run (test/topology/run.ts) shares: its settings, its work
 * directory, its log line, its assertions (each recorded in `failures`) and bounded waits.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SECONDS = Number(process.env.TOPOLOGY_SECONDS ?? 60);
export const SESSIONS = Number(process.env.TOPOLOGY_SESSIONS ?? 200);
export const RATE = Number(process.env.TOPOLOGY_RATE ?? 200);
export const ACCESS_TTL_S = 15;
export const REFRESH_SKEW_MS = 2000;
export const AUTH_RATE_LIMIT = 30;
/** When, into the load, one replica gets SIGTERM, and Redis is restarted (and how long it stays down). */
export const REPLICA_RESTART_AT = 0.2;
export const REDIS_RESTART_AT = 0.58;
export const REDIS_DOWN_MS = 2000;
/** After Redis is back and both replicas are ready again, 503s are still counted as the restart's for this long. */
export const REDIS_GRACE_MS = 3000;
export const WATCHDOG_MS = 12 * 60_000;
/** Refreshes a stopped replica may finish after its last scrape (see the refresh assertions). */
export const MAX_UNSCRAPED = 5;

export const runStarted = Date.now();
export const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-topology-'));
export const say = (msg: string) => console.log(`topology: ${msg}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The assertions that failed, in order (the report lists them; the run then exits 1). */
export const failures: string[] = [];
export const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

export async function waitFor(
  what: string,
  ms: number,
  ok: () => Promise<boolean> | boolean,
  every = 100,
): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await Promise.resolve(ok()).catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

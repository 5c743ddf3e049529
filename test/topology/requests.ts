/**
 * The load's requests, judged: each one's outcome (a Redis restart's 503 with Retry-After is
 * expected; any other failure is not), which fall in each restart's window, and the assertions
 * on them.
 */
import { REDIS_GRACE_MS, SESSIONS, check, say } from './common.js';
import type { Kind, Rec } from './load.js';
import type { LoadRun } from './underLoad.js';

export type Outcome = 'ok' | 'redis_503' | 'error' | '5xx' | '429' | '4xx' | 'wrong_session';

export interface Requests {
  outcome: (r: Rec) => Outcome;
  /** The ones that failed: anything but ok and the Redis restart's 503s. */
  failed: (rs: Rec[]) => Rec[];
  byOutcome: (rs: Rec[]) => Record<string, number>;
  /** Through nginx while the load ran. */
  during: Rec[];
  inReplicaWindow: Rec[];
  inRedisWindow: Rec[];
  redis5xx: Rec[];
  /** Sessions not connected (as themselves) at the end. */
  lost: LoadRun['result']['check'];
  allFailed: Rec[];
  /** Of the successful requests during the load. */
  latencies: number[];
  kinds: Kind[];
}

const overlaps = (r: Rec, from: number, to: number) => r.t <= to && r.t + r.ms >= from;
const viaNginx = (r: Rec) => !r.k.endsWith('_authorize'); // the stand-in's form is posted to directly

export function classify({ result, redisWindow, replicaWindow }: LoadRun): Requests {
  const recs = result.records;
  const redisFrom = redisWindow.stop;
  const redisTo = redisWindow.ready + REDIS_GRACE_MS;
  const repFrom = replicaWindow.sigterm;
  const repTo = replicaWindow.ready + 1000;
  const outcome = (r: Rec): Outcome => {
    if (r.s === 0) return 'error';
    if (r.bad) return 'wrong_session';
    if (r.s >= 500) return r.s === 503 && r.ra && overlaps(r, redisFrom, redisTo) ? 'redis_503' : '5xx';
    if (r.s === 429) return '429';
    if (r.s >= 400) return '4xx';
    return 'ok';
  };
  const during = recs.filter((r) => r.t >= result.loadStartedAt && r.t < result.loadEndedAt && viaNginx(r));
  const byOutcome = (rs: Rec[]) => {
    const c: Record<string, number> = {};
    for (const r of rs) c[outcome(r)] = (c[outcome(r)] ?? 0) + 1;
    return c;
  };
  const failed = (rs: Rec[]) => rs.filter((r) => !['ok', 'redis_503'].includes(outcome(r)));
  const inRedisWindow = recs.filter((r) => viaNginx(r) && overlaps(r, redisFrom, redisTo));
  return {
    outcome,
    failed,
    byOutcome,
    during,
    inReplicaWindow: recs.filter((r) => viaNginx(r) && overlaps(r, repFrom, repTo)),
    inRedisWindow,
    redis5xx: inRedisWindow.filter((r) => r.s >= 500),
    lost: result.check.filter((c) => !c.ok),
    allFailed: failed(recs),
    latencies: during.filter((r) => outcome(r) === 'ok').map((r) => r.ms),
    kinds: [...new Set(during.map((r) => r.k))] as Kind[],
  };
}

/** No failed request across the replica restart, only 503s with Retry-After across Redis's, none at all otherwise, no session lost. */
export function checkRequests({ result }: LoadRun, q: Requests): void {
  const { inReplicaWindow, inRedisWindow, redis5xx, allFailed, lost } = q;
  check(
    inReplicaWindow.length > 0 && q.failed(inReplicaWindow).length === 0,
    `replica restart: 0 failed of ${inReplicaWindow.length} requests from SIGTERM to ready again`,
  );
  check(
    redis5xx.every((r) => r.s === 503 && r.ra === 1) && inRedisWindow.every((r) => r.s !== 0),
    `Redis restart: ${redis5xx.length} answers were 5xx, every one a 503 with Retry-After; no connection errors (${inRedisWindow.length} requests in the window)`,
  );
  check(
    allFailed.length === 0,
    `no failed request at all, outside the Redis restart's 503s (${result.records.length} requests)`,
  );
  check(
    lost.length === 0 && result.check.length === SESSIONS,
    `0 lost sessions: ${result.check.length - lost.length} of ${SESSIONS} still connected as themselves`,
  );
  // A request not sent (too many in flight: the app slowed, as during the Redis restart, on a
  // starved CI machine) only thins the load; up to 5 % of it still proves the rest.
  check(
    result.overload <= result.records.length * 0.05,
    `the load generator kept up (${result.overload} requests not sent, of ${result.records.length}: at most 5 %)`,
  );
}

/** A time as seconds into the load: `12.3 s`. */
export const relTo = (loadStartedAt: number) => (t: number) => `${((t - loadStartedAt) / 1000).toFixed(1)} s`;

/** The first ten failed requests, to start looking from. */
export function sayFirstFailed({ result }: LoadRun, q: Requests): void {
  const rel = relTo(result.loadStartedAt);
  const examples = q.allFailed.slice(0, 10).map((r) => `${rel(r.t)} ${r.k} ${r.s} ${r.e ?? ''} ${r.bad ?? ''}`);
  if (examples.length) say(`first failed requests:\n  ${examples.join('\n  ')}`);
}

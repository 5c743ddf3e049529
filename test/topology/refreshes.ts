/**
 * The refreshes, accounted three ways: the stand-in's grants, the replicas' "tokens refreshed" log
 * lines and their xtc_refreshes_total metric; every refresh token presented once, every session
 * refreshed.
 */
import { MAX_UNSCRAPED, SESSIONS, check } from './common.js';
import { logLines } from './observe.js';
import type { Replica, Stats } from './topology.js';

/** One process lifetime of a replica: its refreshes as logged, and as last scraped. */
export interface Lifetime {
  replica: string;
  gen: number;
  running: boolean;
  logs: number;
  metric: number;
}

export interface Refreshes {
  rt: Stats['xt']['refreshTokens'];
  rtBefore: Stats['xt']['refreshTokens'];
  /** "tokens refreshed" lines per replica, every lifetime. */
  logged: number[];
  loggedSum: number;
  rejectedLogged: number[];
  /** xtc_refreshes_total{outcome}, both replicas, every lifetime (the last scrape of each). */
  metricSum: (outcome: string) => number;
  /** The load's users the stand-in refreshed for. */
  loadUsers: [string, number][];
  /** Refresh grants per session of the load. */
  perSession: number[];
  lifetimes: Lifetime[];
  /** Refreshes a stopped lifetime logged after its last scrape. */
  unscraped: number;
}

const refreshedLines = (text: string) =>
  logLines(text, (o) => o.msg === 'tokens refreshed' && o.provider === 'xt').length;

/** Each process lifetime's counter against its own log lines. */
function lifetimesOf(replicas: Replica[]): Lifetime[] {
  return replicas.flatMap((r) =>
    Array.from({ length: r.proc.gen }, (_, i) => {
      const gen = i + 1;
      return {
        replica: r.name,
        gen,
        running: gen === r.proc.gen,
        logs: refreshedLines(r.proc.outOf(gen)),
        metric: r.lastByGen.get(gen)?.refreshes.ok ?? 0,
      };
    }),
  );
}

export function countRefreshes(replicas: Replica[], statsBeforeLoad: Stats, statsAfter: Stats): Refreshes {
  const rt = statsAfter.xt.refreshTokens;
  const logged = replicas.map((r) => refreshedLines(r.proc.out));
  const lifetimes = lifetimesOf(replicas);
  return {
    rt,
    rtBefore: statsBeforeLoad.xt.refreshTokens,
    logged,
    loggedSum: logged.reduce((a, b) => a + b, 0),
    rejectedLogged: replicas.map(
      (r) => logLines(r.proc.out, (o) => o.msg === 'refresh rejected by the provider; connection ended').length,
    ),
    metricSum: (outcome: string) =>
      replicas.reduce((n, r) => n + [...r.lastByGen.values()].reduce((m, s) => m + (s.refreshes[outcome] ?? 0), 0), 0),
    loadUsers: Object.entries(rt.byUser).filter(([u]) => Number(u) >= 20_000_000 && Number(u) < 20_000_000 + SESSIONS),
    perSession: Array.from({ length: SESSIONS }, (_, i) => rt.byUser[String(20_000_000 + i)] ?? 0),
    lifetimes,
    unscraped: lifetimes.filter((l) => !l.running).reduce((n, l) => n + l.logs - l.metric, 0),
  };
}

/** Refreshes: every refresh token presented once, the stand-in's count = the replicas' logs = their metrics. */
export function checkRefreshes(f: Refreshes): void {
  const { rt, metricSum, rejectedLogged, loggedSum, lifetimes, perSession } = f;
  check(
    rt.reused === 0,
    `refresh: no refresh token presented twice (${rt.presented} presented, ${rt.distinct} distinct)`,
  );
  check(
    metricSum('rejected') === 0 && rejectedLogged.every((n) => n === 0),
    `refresh: none rejected (xtc_refreshes_total{outcome="rejected"} = ${metricSum('rejected')})`,
  );
  check(
    rt.presented === loggedSum,
    `refresh: ${rt.presented} refresh grants at the stand-in = ${loggedSum} "tokens refreshed" in the replicas' logs`,
  );
  // Each process lifetime's counter against its own log lines. A running one's last scrape is
  // exact; a stopped one's was taken moments before its metrics listener closed, so a refresh that
  // finished in between (its requests in flight finish after the drain, all at once) is in its log
  // but was never scraped: the same tail a Prometheus loses. At most MAX_UNSCRAPED of them.
  check(
    lifetimes.every((l) =>
      l.running ? l.metric === l.logs : l.metric <= l.logs && l.logs - l.metric <= MAX_UNSCRAPED,
    ),
    `refresh: xtc_refreshes_total{outcome="ok"} per process lifetime = its "tokens refreshed" lines (${lifetimes
      .map((l) => `${l.replica}#${l.gen}${l.running ? '' : ' stopped'}: ${l.metric}/${l.logs}`)
      .join(', ')}; ${f.unscraped} after a stopped one's last scrape)`,
  );
  check(
    perSession.every((n) => n >= 1),
    `refresh: every one of the ${SESSIONS} sessions was refreshed during the run (min ${Math.min(...perSession)}, max ${Math.max(...perSession)})`,
  );
}

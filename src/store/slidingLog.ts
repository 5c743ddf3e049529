/**
 * Sliding-log rate windows: a call is admitted only if, in every window it counts against, fewer
 * than `limit` calls were admitted in the preceding `windowMs`. Unlike a fixed-window counter
 * (which lets twice the limit through around a window edge), at no moment does a window hold
 * more than its limit. A hold key, when set, refuses everything until it ends.
 *
 * This file: the contract and the in-process implementation (memory and SQLite stores, one
 * process). redis/slidingLog.ts: the same, shared by every replica through Redis.
 */

export interface RateWindow {
  /** Which log: e.g. `u:<id>:asset`, `deployment`. */
  key: string;
  limit: number;
  windowMs: number;
}

export type TakeResult =
  { ok: true } | { ok: false; /** When a retry could succeed, at the earliest. */ waitMs: number; held: boolean };

export interface SlidingLog {
  /**
   * In one atomic step: when `holdKey` is not held and every window has room, records one call
   * in each window and answers ok; otherwise records nothing.
   */
  take(holdKey: string, windows: readonly RateWindow[]): Promise<TakeResult>;
  /** Refuses every take() naming `holdKey` for `ms` from now (a longer hold already set is kept). */
  hold(holdKey: string, ms: number): Promise<void>;
}

/** Sweep every log once this many keys are tracked (people who stopped calling). */
const SWEEP_AT = 10_000;

export class MemorySlidingLog implements SlidingLog {
  private readonly logs = new Map<string, { times: number[]; windowMs: number }>();
  private readonly holds = new Map<string, number>();

  /** A monotonic clock by default: a host clock that jumps does not open or close windows. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  async take(holdKey: string, windows: readonly RateWindow[]): Promise<TakeResult> {
    const now = this.now();
    const heldUntil = this.holds.get(holdKey);
    if (heldUntil !== undefined) {
      if (heldUntil > now) return { ok: false, waitMs: Math.ceil(heldUntil - now), held: true };
      this.holds.delete(holdKey);
    }
    if (this.logs.size > SWEEP_AT) this.sweep(now);
    let waitMs = 0;
    const logs = windows.map((w) => {
      const log = this.logs.get(w.key) ?? { times: [], windowMs: w.windowMs };
      log.windowMs = w.windowMs;
      while (log.times.length && log.times[0]! <= now - w.windowMs) log.times.shift();
      // Full: the call that makes room is the one `limit` places from the newest.
      if (log.times.length >= w.limit)
        waitMs = Math.max(waitMs, Math.max(1, Math.ceil(log.times[log.times.length - w.limit]! + w.windowMs - now)));
      return [w.key, log] as const;
    });
    if (waitMs > 0) return { ok: false, waitMs, held: false };
    for (const [key, log] of logs) {
      log.times.push(now);
      this.logs.set(key, log);
    }
    return { ok: true };
  }

  async hold(holdKey: string, ms: number): Promise<void> {
    const until = this.now() + ms;
    if ((this.holds.get(holdKey) ?? 0) < until) this.holds.set(holdKey, until);
  }

  private sweep(now: number): void {
    for (const [key, log] of this.logs)
      if (!log.times.length || log.times[log.times.length - 1]! <= now - log.windowMs) this.logs.delete(key);
    for (const [key, until] of this.holds) if (until <= now) this.holds.delete(key);
  }
}

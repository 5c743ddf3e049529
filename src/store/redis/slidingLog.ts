/**
 * The sliding log (slidingLog.ts) in Redis, so every replica counts against the same windows.
 * Each window is a sorted set of admitted calls scored by Redis's own clock (TIME: replicas
 * whose clocks disagree still agree on the windows); one Lua script (scripts.ts) checks the hold and every
 * window and records the call, atomically.
 *
 * Every key lives under one hash tag, `{xtguard}`: a script must touch only keys of one slot on
 * Redis Cluster, and the per-person windows are checked together with the deployment-wide one.
 * The whole traffic is bounded by that deployment-wide budget (1000 calls a minute by default),
 * so one slot is never a hot spot.
 *
 * Needs Redis 5 or later (a script that reads TIME and then writes is replicated by its effects).
 */
import { randomBytes } from 'node:crypto';
import type { KeyClient } from './connect.js';
import { redisCall } from './deadline.js';
import { HOLD_SCRIPT, TAKE_SCRIPT } from './scripts.js';
import type { RateWindow, SlidingLog, TakeResult } from '../slidingLog.js';

type Client = KeyClient;

export class RedisSlidingLog implements SlidingLog {
  private seq = 0;
  private readonly instance = randomBytes(6).toString('hex');

  constructor(
    private readonly client: Client,
    private readonly prefix = 'xtc:',
  ) {}

  /** All under one hash tag (see above). */
  key = (name: string) => `${this.prefix}{xtguard}:${name}`;

  take(holdKey: string, windows: readonly RateWindow[]): Promise<TakeResult> {
    return redisCall(async () => {
      const member = `${this.instance}:${(this.seq = (this.seq + 1) % 1e9)}`;
      const reply = (await this.client.eval(TAKE_SCRIPT, {
        keys: [this.key(holdKey), ...windows.map((w) => this.key(w.key))],
        arguments: [member, ...windows.flatMap((w) => [String(w.limit), String(Math.ceil(w.windowMs))])],
      })) as number[];
      if (reply[0] === 1) return { ok: true };
      return { ok: false, waitMs: Number(reply[1]), held: reply[2] === 1 };
    });
  }

  hold(holdKey: string, ms: number): Promise<void> {
    return redisCall(async () => {
      await this.client.eval(HOLD_SCRIPT, {
        keys: [this.key(holdKey)],
        arguments: [String(Math.max(1, Math.ceil(ms)))],
      });
    });
  }
}

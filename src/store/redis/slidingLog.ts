/**
 * The sliding log (slidingLog.ts) in Redis, so every replica counts against the same windows.
 * Each window is a sorted set of admitted calls scored by Redis's own clock (TIME: replicas
 * whose clocks disagree still agree on the windows); one Lua script checks the hold and every
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
import type { RateWindow, SlidingLog, TakeResult } from '../slidingLog.js';

type Client = KeyClient;

/**
 * KEYS[1]: the hold key; KEYS[2..]: one sorted set per window.
 * ARGV[1]: a unique member for this call; then limit and window (ms) for each window, in KEYS order.
 * Returns {1} when admitted, {0, waitMs, held (1|0)} when not.
 */
export const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if held > now then return {0, held - now, 1} end
local wait = 0
for i = 2, #KEYS do
  local limit = tonumber(ARGV[2 * i - 2])
  local window = tonumber(ARGV[2 * i - 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local n = redis.call('ZCARD', KEYS[i])
  if n >= limit then
    local freeing = redis.call('ZRANGE', KEYS[i], n - limit, n - limit, 'WITHSCORES')
    wait = math.max(wait, math.max(1, tonumber(freeing[2]) + window - now))
  end
end
if wait > 0 then return {0, wait, 0} end
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i - 1])
end
return {1}`;

/** KEYS[1]: the hold key; ARGV[1]: ms. Never shortens a longer hold already set. */
export const HOLD_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > held then redis.call('SET', KEYS[1], now + ms, 'PX', ms) end
return 1`;

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
      await this.client.eval(HOLD_SCRIPT, { keys: [this.key(holdKey)], arguments: [String(Math.max(1, Math.ceil(ms)))] });
    });
  }
}

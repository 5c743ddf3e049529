/**
 * Outbox.forget on Redis (a subject's erasure): one script on the group's partition (keys.ts: every
 * key of it shares the partition's hash tag, so it runs on Redis Cluster too), so a claim, done,
 * retry, bury or replay running at the same time sees the group before or after, never between.
 */
import type { KeyClient } from './connect.js';
import { outboxKeys, partitionOf } from './keys.js';

/**
 * Removes the group's pending events except ARGV[3]… (their lease goes with them: a holder's done,
 * retry or bury then finds none), then its kept events (the partition's kept set has no index by
 * group: it is read whole, 500 at a time, in expiry order). A removed head leaves the next event
 * due now, as OUTBOX_DONE does; a kept head keeps its time (a lease, a backoff); an empty queue
 * leaves the due set. Returns how many were removed (kept ones only if not yet expired).
 * KEYS = ev, lease, created, due, dead, deadexp, deadat, the group's queue; ARGV = group, now, keep ids….
 */
export const OUTBOX_FORGET = `
local group, now = ARGV[1], tonumber(ARGV[2])
local keep = {}
for i = 3, #ARGV do keep[ARGV[i]] = true end
local n = 0
local queued = redis.call('ZRANGE', KEYS[8], 0, -1)
for _, id in ipairs(queued) do
  if not keep[id] then
    n = n + redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[8], id)
  end
end
local head = redis.call('ZRANGE', KEYS[8], 0, 0)[1]
if not head then redis.call('ZREM', KEYS[4], group)
elseif head ~= queued[1] then redis.call('ZADD', KEYS[4], now, group) end
local gone = {}
for offset = 0, math.huge, 500 do
  local page = redis.call('ZRANGE', KEYS[6], offset, offset + 499, 'WITHSCORES')
  if #page == 0 then break end
  local ids = {}
  for i = 1, #page, 2 do table.insert(ids, page[i]) end
  local raws = redis.call('HMGET', KEYS[5], unpack(ids))
  for i, raw in ipairs(raws) do
    if raw and cjson.decode(raw).group == group then
      table.insert(gone, ids[i])
      if tonumber(page[2 * i]) > now then n = n + 1 end
    end
  end
end
for _, id in ipairs(gone) do
  redis.call('HDEL', KEYS[5], id); redis.call('ZREM', KEYS[6], id); redis.call('ZREM', KEYS[7], id)
end
return n`;

/** Forgets `group` in its partition (the one its events were added to: keys.ts). */
export async function forgetGroup(
  client: KeyClient,
  prefix: string,
  now: number,
  group: string,
  keep: readonly string[],
): Promise<number> {
  const k = outboxKeys(prefix, partitionOf(group));
  const n = await client.eval(OUTBOX_FORGET, {
    keys: [k.ev, k.lease, k.created, k.due, k.dead, k.deadExp, k.deadAt, k.group(group)],
    arguments: [group, String(now), ...keep],
  });
  return Number(n);
}

/**
 * The Lua scripts of the webhook operations on Redis: kept events (dead letters and delivered
 * events, beside their partition's outbox, one hash tag), replays, and the delivery log (one
 * sorted set, a hash tag of its own). Layout: keys.ts.
 */

/** Removes up to 100 kept events that expired by `now`. KEYS[k..k+2] = dead, deadexp, deadat. */
const PRUNE_KEPT = `
local function pruneKept(k, now)
  local old = redis.call('ZRANGEBYSCORE', KEYS[k + 1], '-inf', now, 'LIMIT', 0, 100)
  for _, id in ipairs(old) do
    redis.call('HDEL', KEYS[k], id); redis.call('ZREM', KEYS[k + 1], id); redis.call('ZREM', KEYS[k + 2], id)
  end
end
`;

/**
 * Delivered (ARGV[6] "delivered") or given up (ARGV[6] "dead"), if ARGV[2] (the lease) still holds
 * the event: as OUTBOX_DONE, and the event (still sealed) is kept until ARGV[5], by its first
 * creation time; expired kept events are pruned.
 * KEYS = ev, lease, created, due, dead, deadexp, deadat; ARGV = id, lease, now, group key prefix, keepUntil, state.
 */
export const OUTBOX_KEEP =
  PRUNE_KEPT +
  `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local e = cjson.decode(redis.call('HGET', KEYS[1], ARGV[1]))
local gk = ARGV[4] .. e.group
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', gk, ARGV[1])
if redis.call('ZCARD', gk) > 0 then redis.call('ZADD', KEYS[4], ARGV[3], e.group) else redis.call('ZREM', KEYS[4], e.group) end
pruneKept(5, ARGV[3])
local first = e.firstCreatedAt or e.createdAt
local kept = {group = e.group, value = e.value, createdAt = first, attempts = e.attempts, diedAt = tonumber(ARGV[3])}
if ARGV[6] == 'delivered' then kept.state = 'delivered' end
redis.call('HSET', KEYS[5], ARGV[1], cjson.encode(kept))
redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[7], first, ARGV[1])
return 1`;

/** Up to ARGV[2] unexpired dead letters (not delivered events), by expiry: {id, json, id, json…}. KEYS = dead, deadexp; ARGV = now, limit. */
export const OUTBOX_DEAD_LIST = `
local out, n, offset, limit = {}, 0, 0, tonumber(ARGV[2])
while n < limit do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', offset, 100)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', KEYS[1], id)
    if raw and n < limit and cjson.decode(raw).state ~= 'delivered' then
      table.insert(out, id); table.insert(out, raw); n = n + 1
    end
  end
end
return out`;

/**
 * A replay's first step, in one partition: its kept events first created from ARGV[2] to ARGV[3]
 * (expired ones pruned first), the earliest ARGV[4]; or, with ids (ARGV[5]…), those of them kept
 * here within the range. Returns {id, firstCreatedAt, …}. KEYS = dead, deadexp, deadat; ARGV = now, since, until, max, ids….
 */
export const REPLAY_PICK =
  PRUNE_KEPT +
  `
pruneKept(1, ARGV[1])
if #ARGV < 5 then
  return redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[2], ARGV[3], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[4]))
end
local out = {}
for i = 5, #ARGV do
  local at = redis.call('ZSCORE', KEYS[3], ARGV[i])
  if at and tonumber(at) >= tonumber(ARGV[2]) and tonumber(at) <= tonumber(ARGV[3]) then
    table.insert(out, ARGV[i]); table.insert(out, at)
  end
end
return out`;

/**
 * A replay's second step: the kept events ARGV[3]… go back to the outbox as new pending events
 * (same id, group and value; attempts 0; createdAt ARGV[1]; firstCreatedAt kept), at the end of
 * their group's queue; one no longer kept, expired, or pending is skipped. Returns the ids put back.
 * KEYS = seq, ev, created, due, dead, deadexp, deadat; ARGV = now, group key prefix, ids….
 */
export const REPLAY_PUT = `
local out = {}
local now = tonumber(ARGV[1])
for i = 3, #ARGV do
  local id = ARGV[i]
  local raw = redis.call('HGET', KEYS[5], id)
  local exp = redis.call('ZSCORE', KEYS[6], id)
  if raw and exp and tonumber(exp) > now and redis.call('HEXISTS', KEYS[2], id) == 0 then
    local k = cjson.decode(raw)
    redis.call('HDEL', KEYS[5], id); redis.call('ZREM', KEYS[6], id); redis.call('ZREM', KEYS[7], id)
    local seq = redis.call('INCR', KEYS[1])
    redis.call('HSET', KEYS[2], id, cjson.encode({ seq = seq, group = k.group, value = k.value, createdAt = now, firstCreatedAt = k.createdAt, attempts = 0 }))
    redis.call('ZADD', KEYS[3], now, id)
    redis.call('ZADD', ARGV[2] .. k.group, seq, id)
    redis.call('ZADD', KEYS[4], 'NX', now, k.group)
    table.insert(out, id)
  end
end
return out`;

/**
 * Adds a delivery log entry (member ARGV[1], score 0), removes those that expired (a key starts with
 * its time: below ARGV[2] in key order) and the oldest beyond ARGV[3]. KEYS = the log.
 */
export const LOG_ADD = `
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZREMRANGEBYLEX', KEYS[1], '-', '(' .. ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
local max = tonumber(ARGV[3])
if n > max then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - max - 1) end
return 1`;

/** Up to ARGV[2] entries, newest first, below ARGV[1] in key order ('+': from the newest). KEYS = the log. */
export const LOG_READ = `
return redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))`;

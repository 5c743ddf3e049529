/**
 * The Lua scripts of the webhook operations on Redis: dead letters (beside their partition's
 * outbox, one hash tag) and the delivery log (one sorted set, a hash tag of its own). Layout: keys.ts.
 */

/**
 * Given up, if ARGV[2] (the lease) still holds the event: as OUTBOX_DONE, and the event (still
 * sealed) moves to the dead letters, kept until ARGV[5]; up to 100 expired dead letters are pruned.
 * KEYS = ev, lease, created, due, dead, deadexp; ARGV = id, lease, now, group key prefix, keepUntil.
 */
export const OUTBOX_BURY = `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local e = cjson.decode(redis.call('HGET', KEYS[1], ARGV[1]))
local gk = ARGV[4] .. e.group
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', gk, ARGV[1])
if redis.call('ZCARD', gk) > 0 then redis.call('ZADD', KEYS[4], ARGV[3], e.group) else redis.call('ZREM', KEYS[4], e.group) end
local old = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', ARGV[3], 'LIMIT', 0, 100)
for _, id in ipairs(old) do redis.call('HDEL', KEYS[5], id); redis.call('ZREM', KEYS[6], id) end
local dead = {group = e.group, value = e.value, createdAt = e.createdAt, attempts = e.attempts, diedAt = tonumber(ARGV[3])}
redis.call('HSET', KEYS[5], ARGV[1], cjson.encode(dead))
redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
return 1`;

/** Up to ARGV[2] unexpired dead letters, by expiry: {id, json, id, json…}. KEYS = dead, deadexp; ARGV = now, limit. */
export const OUTBOX_DEAD_LIST = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', KEYS[1], id)
  if raw then table.insert(out, id); table.insert(out, raw) end
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

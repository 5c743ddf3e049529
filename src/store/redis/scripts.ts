/**
 * Every Lua script the Redis stores run, in one place. Each keeps to the keys it is given, and those
 * keys share one hash slot (see keys.ts), so each works on a cluster.
 */

// Login transactions: a hash per owner, each entry `created|expires|value`.

export const PUT_TX = `
local now = tonumber(ARGV[3]); local ttl = tonumber(ARGV[4]); local max = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. '|' .. (now + ttl) .. '|' .. ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local c, e = string.match(all[i + 1], '^(%d+)|(%d+)|')
  if tonumber(e) <= now then redis.call('HDEL', KEYS[1], all[i]) else table.insert(live, { all[i], tonumber(c) }) end
end
if #live > max then
  table.sort(live, function(a, b) return a[2] < b[2] end)
  for i = 1, #live - max do redis.call('HDEL', KEYS[1], live[i][1]) end
end
redis.call('PEXPIRE', KEYS[1], ttl)
return #live`;

export const TAKE_TX = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v`;

export const TAKE_ALL_TX = `
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all`;

export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export const EXTEND_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

// Connections, the logout index and tombstones, and the outbox (keys.ts has the layout).

/**
 * Adds an event; KEYS[k..k+4] = seq, ev, created, due, group; ARGV[a..a+4] = id, group, value,
 * createdAt, now. NX on due: a leased or backing-off head keeps its time.
 */
export const ADD_EVENT = `
local function addEvent(k, a)
  local id, group, created = ARGV[a], ARGV[a + 1], ARGV[a + 3]
  local seq = redis.call('INCR', KEYS[k])
  redis.call('HSET', KEYS[k + 1], id, cjson.encode({ seq = seq, group = group, value = ARGV[a + 2], createdAt = tonumber(created), attempts = 0 }))
  redis.call('ZADD', KEYS[k + 2], created, id)
  redis.call('ZADD', KEYS[k + 4], seq, id)
  redis.call('ZADD', KEYS[k + 3], 'NX', ARGV[a + 4], group)
end
`;

/**
 * Every connection write and delete keeps KEYS[2], its partition's page index (a sorted set of
 * `owner NUL provider`, all scored 0, read by lexical range: see connectionIndex.ts), and KEYS[3],
 * its partition's expiry index (the same members scored by when they are due: dueIndex.ts), in the
 * same script, so neither index lacks a live record. ARGV[3] is the record's member in both.
 * setDue: ARGV[a] 's' scores the member ARGV[a + 1] in the expiry index, 'r' removes it, 'k' keeps it.
 */
const SET_DUE = `
local function setDue(a)
  if ARGV[a] == 's' then redis.call('ZADD', KEYS[3], ARGV[a + 1], ARGV[3])
  elseif ARGV[a] == 'r' then redis.call('ZREM', KEYS[3], ARGV[3]) end
end
`;

/** SET PX and index it (ARGV[4..5]: setDue); then the event, when ARGV[6] is '1'. */
export const PUT_CONN =
  ADD_EVENT +
  SET_DUE +
  `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
setDue(4)
if ARGV[6] == '1' then addEvent(4, 7) end
return 1`;

/**
 * SET only while the record exists and, when ARGV[4] is '1', only while its value is still
 * ARGV[5] (compare-and-set); ARGV[6..7]: setDue; then the event, when ARGV[8] is '1'.
 */
export const REPLACE_CONN =
  ADD_EVENT +
  SET_DUE +
  `
if ARGV[4] == '1' then
  if redis.call('GET', KEYS[1]) ~= ARGV[5] then return 0 end
elseif redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
setDue(6)
if ARGV[8] == '1' then addEvent(4, 9) end
return 1`;

/**
 * DEL and unindex (both indexes), when ARGV[1] is '1' only while the value is still ARGV[2]
 * (compare-and-delete); then the event, when ARGV[4] is '1' and a live record was deleted.
 */
export const DELETE_CONN =
  ADD_EVENT +
  `
if ARGV[1] == '1' and redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
if n == 1 and ARGV[4] == '1' then addEvent(4, 5) end
return n`;

/**
 * A page of one partition's expiry index: KEYS[1] = the index; ARGV = lowest score (or '-inf'),
 * before (exclusive), limit, the partition's record key prefix, the member and score of the page
 * before's last entry ('' when none). Reads only entries scored below `before`; an entry whose
 * record is gone is removed and skipped. Returns member, score, value for each, in index order.
 */
export const DUE_CONN = `
local limit, offset, out = tonumber(ARGV[3]), 0, {}
local afterScore = ARGV[6] ~= '' and tonumber(ARGV[6])
while #out < 3 * limit do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '(' .. ARGV[2], 'WITHSCORES', 'LIMIT', offset, limit)
  local removed = 0
  for i = 1, #batch, 2 do
    local m, score = batch[i], batch[i + 1]
    if not (afterScore and tonumber(score) == afterScore and m <= ARGV[5]) then
      local cut = string.find(m, '\\0', 1, true)
      local v = cut and redis.call('GET', ARGV[4] .. string.sub(m, 1, cut - 1) .. ':' .. string.sub(m, cut + 1))
      if not v then
        redis.call('ZREM', KEYS[1], m)
        removed = removed + 1
      elseif #out < 3 * limit then
        table.insert(out, m)
        table.insert(out, score)
        table.insert(out, v)
      end
    end
  end
  if #batch / 2 < limit then break end
  offset = offset + #batch / 2 - removed
end
return out`;

/**
 * A page of one partition's live records: KEYS[1] = its page index; ARGV = lexical min, max, limit,
 * the partition's record key prefix. A member whose record expired is removed (lazily, here) and
 * skipped. Returns member, value for each record, in member order.
 */
export const PAGE_CONN = `
local min, limit, out = ARGV[1], tonumber(ARGV[3]), {}
while #out < 2 * limit do
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], min, ARGV[2], 'LIMIT', 0, limit)
  for _, m in ipairs(batch) do
    local cut = string.find(m, '\\0', 1, true)
    local v = cut and redis.call('GET', ARGV[4] .. string.sub(m, 1, cut - 1) .. ':' .. string.sub(m, cut + 1))
    if v and #out < 2 * limit then
      table.insert(out, m)
      table.insert(out, v)
    elseif not v then
      redis.call('ZREM', KEYS[1], m)
    end
  end
  if #batch < limit then break end
  min = '(' .. batch[#batch]
end
return out`;

/**
 * The logout index: a sorted set of members scored by when each expires. ARGV = member, its expiry,
 * now, max. Expired members go, then the soonest-expiring beyond max; the key lives as long as its
 * last member.
 */
export const INDEX_ADD = `
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - now)))
return 1`;

export const INDEX_REMOVE = `return redis.call('ZREM', KEYS[1], ARGV[1])`;

/**
 * A logout tombstone: the later of the stored time and ARGV[1] (both whole ms), kept for ARGV[2] ms
 * or, when it has longer left already, for that.
 */
export const TOMBSTONE_PUT = `
local cur = redis.call('GET', KEYS[1])
local value = ARGV[1]
if cur and tonumber(cur) > tonumber(ARGV[1]) then value = cur end
redis.call('SET', KEYS[1], value, 'PX', math.max(tonumber(ARGV[2]), redis.call('PTTL', KEYS[1])))
return 1`;

/**
 * Claims the heads of the groups ARGV[6..] of one partition, each only if it is still due (another
 * claimer may have taken it since it was read), at most ARGV[3]. KEYS = due, ev, lease; ARGV =
 * group key prefix, now, max, leaseMs, token base, groups. Returns id, token, event JSON for each.
 */
export const CLAIM = `
local now = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local out = {}
for i = 6, #ARGV do
  if #out >= 3 * max then break end
  local group = ARGV[i]
  local due = redis.call('ZSCORE', KEYS[1], group)
  if due and tonumber(due) <= now then
    local gk = ARGV[1] .. group
    local id = redis.call('ZRANGE', gk, 0, 0)[1]
    local raw = id and redis.call('HGET', KEYS[2], id)
    if not id then
      redis.call('ZREM', KEYS[1], group)
    elseif not raw then
      redis.call('ZREM', gk, id) -- an id without its event: drop it, the next one is due next time
    else
      local token = ARGV[5] .. '.' .. (i - 5)
      redis.call('HSET', KEYS[3], id, token)
      redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), group)
      table.insert(out, id)
      table.insert(out, token)
      table.insert(out, raw)
    end
  end
end
return out`;

/**
 * Removes the event if ARGV[2] (the lease) still holds it; its group's next event is due now.
 * KEYS = ev, lease, created, due; ARGV = id, lease, now, group key prefix.
 */
export const OUTBOX_DONE = `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local group = cjson.decode(redis.call('HGET', KEYS[1], ARGV[1])).group
local gk = ARGV[4] .. group
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', gk, ARGV[1])
if redis.call('ZCARD', gk) > 0 then redis.call('ZADD', KEYS[4], ARGV[3], group) else redis.call('ZREM', KEYS[4], group) end
return 1`;

/**
 * A failed attempt, if ARGV[2] (the lease) still holds the event: attempts + 1, lease released,
 * the group due at ARGV[3]. KEYS = ev, lease, due; ARGV = id, lease, nextAttemptAt.
 */
export const OUTBOX_RETRY = `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local e = cjson.decode(redis.call('HGET', KEYS[1], ARGV[1]))
e.attempts = e.attempts + 1
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(e))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], e.group)
return 1`;

// The sliding log of the XT.COM guard (slidingLog.ts).

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

/**
 * Redis, for several replicas: sessions through connect-redis (the maintained express-session
 * store for node-redis), token sets, login transactions and refresh locks in our own keys. One
 * server, a cluster or Sentinel (connect.ts): every script keeps to one hash slot (the key
 * layout below), so each works on a cluster.
 *
 * When Redis goes away, commands fail at once (no offline queue) so requests get a 503 instead
 * of hanging; the client keeps reconnecting in the background and the data is there when it returns.
 * A Redis that stops answering is a 503 after REDIS_COMMAND_TIMEOUT (see deadline.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../../config.js';
import { type KeyClient, type RedisConnection, connectRedis } from './connect.js';
import { redisCall } from './deadline.js';
import { RedisSlidingLog } from './slidingLog.js';
import type { AuthStore, ClaimedEvent, Outbox, OutboxEvent, Stores, StoredTransaction } from '../types.js';

const PUT_TX = `
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

const TAKE_TX = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v`;

const TAKE_ALL_TX = `
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all`;

const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const EXTEND_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/**
 * Key layout. A Lua script, or a command on several keys, must touch keys of one hash slot to work on
 * Redis Cluster, so keys that go together share a hash tag (the part in braces):
 *
 *   conn:{p<n>}:<owner>:<provider>  a connection (token set), n = partitionOf(owner)
 *   outbox:{p<n>}:…                  partition n's outbox (below), beside its owners' connections
 *   tx:<owner>, lock:<key>, mark:<key>, idx:<key>, bclt:<key>, sess:<sid>, rl:<name>:<key>
 *                                    one key per command or script: no tag, spread over every slot
 *                                    (idx: the back-channel logout index, a provider session or user
 *                                    → owners; read first, then each owner's keys are touched apart;
 *                                    bclt: a logout's tombstone, the time a session or user was logged out)
 *   {xtguard}:…                      the XT.COM call windows, checked together (slidingLog.ts)
 *
 * A connection write and the outbox event it carries are one script, so owners are spread over
 * PARTITIONS fixed partitions, each a hash tag of its own: an owner's connections and the outbox
 * queue of its group (the owner itself, see connections/events.ts) live in its partition. On a cluster
 * an event's group must therefore fall in the same partition as the owner whose connection it
 * reports (it is the owner); on one server anything goes. PARTITIONS must never change: every
 * stored connection would move.
 *
 * Each partition's outbox:
 *   outbox:{p<n>}:seq       INCR, the order events were added in (per partition: a group's order)
 *   outbox:{p<n>}:ev        HASH id -> JSON {seq, group, value, createdAt, attempts}
 *   outbox:{p<n>}:lease     HASH id -> the token of the claim holding it
 *   outbox:{p<n>}:created   ZSET id by createdAt (for stats)
 *   outbox:{p<n>}:g:<group> ZSET id by seq: the group's queue, its head first
 *   outbox:{p<n>}:due       ZSET group -> when its head may be claimed (its next attempt, or its lease's end)
 * A claim reads every partition's due groups and takes the earliest due across them all (as one
 * sorted set would order them); a lease token names its partition, so done and retry find it.
 */
export const PARTITIONS = 16;

/** The partition an owner (or an outbox group) lives in. */
export function partitionOf(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % PARTITIONS;
}

const PARTITION_LIST = Array.from({ length: PARTITIONS }, (_, p) => p);

function outboxKeys(prefix: string, partition: number) {
  const base = `${prefix}outbox:{p${partition}}:`;
  return {
    seq: `${base}seq`,
    ev: `${base}ev`,
    lease: `${base}lease`,
    created: `${base}created`,
    due: `${base}due`,
    group: (group: string) => `${base}g:${group}`,
  };
}

/** A lease token is `<random>.<partition>.<n>`; the partition, or undefined for a token that is none of ours. */
function leasePartition(lease: string): number | undefined {
  const m = /^[0-9a-f]+\.(\d+)\.\d+$/.exec(lease);
  const p = Number(m?.[1]);
  return m && p < PARTITIONS ? p : undefined;
}

/**
 * Adds an event; KEYS[k..k+4] = seq, ev, created, due, group; ARGV[a..a+4] = id, group, value,
 * createdAt, now. NX on due: a leased or backing-off head keeps its time.
 */
const ADD_EVENT = `
local function addEvent(k, a)
  local id, group, created = ARGV[a], ARGV[a + 1], ARGV[a + 3]
  local seq = redis.call('INCR', KEYS[k])
  redis.call('HSET', KEYS[k + 1], id, cjson.encode({ seq = seq, group = group, value = ARGV[a + 2], createdAt = tonumber(created), attempts = 0 }))
  redis.call('ZADD', KEYS[k + 2], created, id)
  redis.call('ZADD', KEYS[k + 4], seq, id)
  redis.call('ZADD', KEYS[k + 3], 'NX', ARGV[a + 4], group)
end
`;

/** SET PX; then the event, when ARGV[3] is '1'. */
const PUT_CONN =
  ADD_EVENT +
  `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] == '1' then addEvent(2, 4) end
return 1`;

/**
 * SET only while the record exists and, when ARGV[3] is '1', only while its value is still
 * ARGV[4] (compare-and-set); then the event, when ARGV[5] is '1'.
 */
const REPLACE_CONN =
  ADD_EVENT +
  `
if ARGV[3] == '1' then
  if redis.call('GET', KEYS[1]) ~= ARGV[4] then return 0 end
elseif redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[5] == '1' then addEvent(2, 6) end
return 1`;

/**
 * DEL, when ARGV[1] is '1' only while the value is still ARGV[2] (compare-and-delete); then the
 * event, when ARGV[3] is '1' and a live record was deleted.
 */
const DELETE_CONN =
  ADD_EVENT +
  `
if ARGV[1] == '1' and redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
local n = redis.call('DEL', KEYS[1])
if n == 1 and ARGV[3] == '1' then addEvent(2, 4) end
return n`;

/**
 * The logout index: a sorted set of members scored by when each expires. ARGV = member, its expiry,
 * now, max. Expired members go, then the soonest-expiring beyond max; the key lives as long as its
 * last member.
 */
const INDEX_ADD = `
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - now)))
return 1`;

const INDEX_REMOVE = `return redis.call('ZREM', KEYS[1], ARGV[1])`;

/**
 * A logout tombstone: the later of the stored time and ARGV[1] (both whole ms), kept for ARGV[2] ms
 * or, when it has longer left already, for that.
 */
const TOMBSTONE_PUT = `
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
const CLAIM = `
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
const OUTBOX_DONE = `
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
const OUTBOX_RETRY = `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local e = cjson.decode(redis.call('HGET', KEYS[1], ARGV[1]))
e.attempts = e.attempts + 1
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(e))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], e.group)
return 1`;

/** A transaction entry is `created|expires|value`; expired or malformed entries read as null. */
function parseTxEntry(raw: unknown, now: number): { value: string; expiresAt: number } | null {
  if (typeof raw !== 'string') return null;
  const m = /^(\d+)\|(\d+)\|(.*)$/s.exec(raw);
  if (!m || Number(m[2]) <= now) return null;
  return { value: m[3] ?? '', expiresAt: Number(m[2]) };
}

const parseTx = (raw: unknown, now: number): string | null => parseTxEntry(raw, now)?.value ?? null;

interface StoredEvent {
  seq: number;
  group: string;
  value: string;
  createdAt: number;
  attempts: number;
}

/** Redis orders members of equal score by their bytes; so do claims across partitions. */
const byDueThenGroup = (a: { score: number; group: string }, b: { score: number; group: string }) =>
  a.score - b.score || Buffer.compare(Buffer.from(a.group), Buffer.from(b.group));

/** The outbox in Redis, shared by every replica (keys: see above). */
export class RedisOutbox implements Outbox {
  constructor(
    private readonly client: KeyClient,
    private readonly prefix = 'xtc:',
    private readonly now: () => number = Date.now,
  ) {}

  private keys = (partition: number) => outboxKeys(this.prefix, partition);

  claim(max: number, leaseMs: number): Promise<ClaimedEvent[]> {
    return redisCall(async () => {
      const limit = Math.max(0, Math.floor(max));
      if (limit === 0) return [];
      const now = this.now();
      // Every partition's earliest due groups, then the earliest across them all.
      const due = await Promise.all(
        PARTITION_LIST.map((p) => this.client.zRangeByScoreWithScores(this.keys(p).due, '-inf', now, { LIMIT: { offset: 0, count: limit } })),
      );
      const candidates = due.flatMap((groups, p) => groups.map((g) => ({ p, group: String(g.value), score: g.score }))).sort(byDueThenGroup);
      const out: (ClaimedEvent & { seq: number })[] = [];
      // The first `limit` candidates, one script per partition; those another replica took meanwhile
      // are skipped, and the next candidates are tried in their place.
      for (let next = 0; out.length < limit && next < candidates.length;) {
        const base = randomBytes(12).toString('hex'); // tokens: <base>.<partition>.<place in its list>
        const batch = candidates.slice(next, next + (limit - out.length));
        next += batch.length;
        const byPartition = new Map<number, string[]>();
        for (const c of batch) byPartition.set(c.p, [...(byPartition.get(c.p) ?? []), c.group]);
        const replies = await Promise.all(
          [...byPartition].map(async ([p, groups]) => {
            const k = this.keys(p);
            const args = [k.group(''), String(now), String(groups.length), String(Math.ceil(leaseMs)), `${base}.${p}`, ...groups];
            return (await this.client.eval(CLAIM, { keys: [k.due, k.ev, k.lease], arguments: args })) as string[];
          }),
        );
        for (const flat of replies) {
          for (let i = 0; i + 2 < flat.length; i += 3) {
            const e = JSON.parse(String(flat[i + 2])) as StoredEvent;
            out.push({
              id: String(flat[i]),
              group: e.group,
              value: e.value,
              createdAt: e.createdAt,
              attempts: e.attempts,
              lease: String(flat[i + 1]),
              seq: e.seq,
            });
          }
        }
      }
      // In the order they were added, as the other stores hand them out (seq counts per partition).
      return out.sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq).map(({ seq: _seq, ...e }) => e);
    });
  }

  done(id: string, lease: string): Promise<void> {
    const p = leasePartition(lease);
    if (p === undefined) return Promise.resolve(); // not a lease of ours: it holds nothing
    return redisCall(async () => {
      const k = this.keys(p);
      await this.client.eval(OUTBOX_DONE, { keys: [k.ev, k.lease, k.created, k.due], arguments: [id, lease, String(this.now()), k.group('')] });
    });
  }

  retry(id: string, lease: string, nextAttemptAt: number): Promise<void> {
    const p = leasePartition(lease);
    if (p === undefined) return Promise.resolve();
    return redisCall(async () => {
      const k = this.keys(p);
      await this.client.eval(OUTBOX_RETRY, { keys: [k.ev, k.lease, k.due], arguments: [id, lease, String(nextAttemptAt)] });
    });
  }

  stats(): Promise<{ pending: number; oldestCreatedAt?: number }> {
    return redisCall(async () => {
      const [pending, oldest] = await Promise.all([
        Promise.all(PARTITION_LIST.map((p) => this.client.hLen(this.keys(p).ev))),
        Promise.all(PARTITION_LIST.map((p) => this.client.zRangeWithScores(this.keys(p).created, 0, 0))),
      ]);
      const scores = oldest.flatMap((o) => o.map((e) => e.score));
      return { pending: pending.reduce((sum, n) => sum + Number(n), 0), oldestCreatedAt: scores.length ? Math.min(...scores) : undefined };
    });
  }
}

/** `text` as a SCAN pattern that matches only itself. */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

export class RedisAuthStore implements AuthStore {
  constructor(
    private readonly client: KeyClient,
    /** The connection's ping and key count, over every master (see RedisConnection). */
    private readonly conn: Pick<RedisConnection, 'ping' | 'countKeys'>,
    private readonly prefix = 'xtc:',
    private readonly now: () => number = Date.now,
  ) {}

  private txKey = (owner: string) => `${this.prefix}tx:${owner}`;
  /** In the owner's partition, with its outbox (see the key layout above). */
  private connKey = (owner: string, provider: string) => `${this.prefix}conn:{p${partitionOf(owner)}}:${owner}:${provider}`;

  /**
   * The keys and arguments ADD_EVENT reads (after a flag '1'), or just the flag '0' without an event.
   * The event goes to its group's partition: on a cluster that must be the owner's (the group is the owner).
   */
  private event(event?: OutboxEvent): { keys: string[]; args: string[] } {
    if (!event) return { keys: [], args: ['0'] };
    const k = outboxKeys(this.prefix, partitionOf(event.group));
    return {
      keys: [k.seq, k.ev, k.created, k.due, k.group(event.group)],
      args: ['1', event.id, event.group, event.value, String(event.createdAt), String(this.now())],
    };
  }

  putTransaction(owner: string, id: string, value: string, ttlMs: number, max: number): Promise<void> {
    return redisCall(async () => {
      await this.client.eval(PUT_TX, { keys: [this.txKey(owner)], arguments: [id, value, String(this.now()), String(Math.ceil(ttlMs)), String(max)] });
    });
  }

  takeTransaction(owner: string, id: string): Promise<string | null> {
    return redisCall(async () => parseTx(await this.client.eval(TAKE_TX, { keys: [this.txKey(owner)], arguments: [id] }), this.now()));
  }

  takeAllTransactions(owner: string): Promise<StoredTransaction[]> {
    return redisCall(async () => {
      const flat = (await this.client.eval(TAKE_ALL_TX, { keys: [this.txKey(owner)], arguments: [] })) as string[];
      const now = this.now();
      const out: StoredTransaction[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const entry = parseTxEntry(flat[i + 1], now);
        if (entry) out.push({ id: String(flat[i]), ...entry });
      }
      return out;
    });
  }

  countTransactions(owner: string): Promise<number> {
    return redisCall(async () => {
      const now = this.now();
      return (await this.client.hVals(this.txKey(owner))).filter((v) => parseTx(v, now) !== null).length;
    });
  }

  getConnection(owner: string, provider: string): Promise<string | null> {
    return redisCall(async () => {
      const v = await this.client.get(this.connKey(owner, provider));
      return typeof v === 'string' ? v : this.migrateConnection(owner, provider);
    });
  }

  /**
   * A connection stored before the partitioned layout (`conn:<owner>:<provider>`, no hash tag) is
   * moved to its new key the first time it is read, with its remaining TTL, so an upgrade loses
   * nobody's connection. SET NX: a record written under the new key meanwhile wins.
   */
  private async migrateConnection(owner: string, provider: string): Promise<string | null> {
    const legacy = `${this.prefix}conn:${owner}:${provider}`;
    const [value, ttl] = await Promise.all([this.client.get(legacy), this.client.pTTL(legacy)]);
    if (typeof value !== 'string') return null;
    if (ttl > 0) await this.client.set(this.connKey(owner, provider), value, { expiration: { type: 'PX', value: ttl }, condition: 'NX' });
    await this.client.del(legacy);
    if (ttl <= 0) return null;
    const now = await this.client.get(this.connKey(owner, provider));
    return typeof now === 'string' ? now : null;
  }

  putConnection(owner: string, provider: string, value: string, ttlMs: number, event?: OutboxEvent): Promise<void> {
    const e = this.event(event);
    return redisCall(async () => {
      await this.client.eval(PUT_CONN, { keys: [this.connKey(owner, provider), ...e.keys], arguments: [value, String(Math.ceil(ttlMs)), ...e.args] });
    });
  }

  replaceConnection(owner: string, provider: string, value: string, ttlMs: number, expected?: string, event?: OutboxEvent): Promise<boolean> {
    const e = this.event(event);
    const cas = expected !== undefined ? ['1', expected] : ['0', ''];
    return redisCall(
      async () =>
        (await this.client.eval(REPLACE_CONN, {
          keys: [this.connKey(owner, provider), ...e.keys],
          arguments: [value, String(Math.ceil(ttlMs)), ...cas, ...e.args],
        })) === 1,
    );
  }

  /** A SCAN of every partition's connection keys (on a cluster, of every master): for a gauge, not for a request. */
  countConnections(provider: string): Promise<number> {
    return redisCall(() => this.conn.countKeys(`${globEscape(this.prefix)}conn:{p*}:*:${globEscape(provider)}`));
  }

  deleteConnection(owner: string, provider: string, event?: OutboxEvent, expected?: string): Promise<boolean> {
    const e = this.event(event);
    const cas = expected !== undefined ? ['1', expected] : ['0', ''];
    return redisCall(
      async () => (await this.client.eval(DELETE_CONN, { keys: [this.connKey(owner, provider), ...e.keys], arguments: [...cas, ...e.args] })) === 1,
    );
  }

  private indexKey = (key: string) => `${this.prefix}idx:${key}`;

  addToIndex(key: string, member: string, ttlMs: number, max: number): Promise<void> {
    return redisCall(async () => {
      const now = this.now();
      await this.client.eval(INDEX_ADD, {
        keys: [this.indexKey(key)],
        arguments: [member, String(now + Math.ceil(ttlMs)), String(now), String(Math.max(1, Math.floor(max)))],
      });
    });
  }

  readIndex(key: string): Promise<string[]> {
    return redisCall(async () => (await this.client.zRangeByScoreWithScores(this.indexKey(key), `(${this.now()}`, '+inf')).map((m) => String(m.value)));
  }

  removeFromIndex(key: string, member: string): Promise<void> {
    return redisCall(async () => {
      await this.client.eval(INDEX_REMOVE, { keys: [this.indexKey(key)], arguments: [member] });
    });
  }

  private tombstoneKey = (key: string) => `${this.prefix}bclt:${key}`;

  putLogoutTombstone(key: string, at: number, ttlMs: number): Promise<void> {
    return redisCall(async () => {
      await this.client.eval(TOMBSTONE_PUT, { keys: [this.tombstoneKey(key)], arguments: [String(Math.floor(at)), String(Math.max(1, Math.ceil(ttlMs)))] });
    });
  }

  /** One GET per key, sent together (on a cluster each to its own slot's master): one round trip. */
  logoutTombstones(keys: string[]): Promise<number[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return redisCall(async () => {
      const values = await Promise.all(keys.map((key) => this.client.get(this.tombstoneKey(key))));
      return values.map((v) => Number(v ?? 0) || 0);
    });
  }

  /** SET NX PX: Redis runs one command at a time, so exactly one caller sets it. */
  markOnce(key: string, ttlMs: number): Promise<boolean> {
    return redisCall(
      async () => (await this.client.set(`${this.prefix}mark:${key}`, '1', { expiration: { type: 'PX', value: Math.ceil(ttlMs) }, condition: 'NX' })) === 'OK',
    );
  }

  hasMark(key: string): Promise<boolean> {
    return redisCall(async () => (await this.client.exists(`${this.prefix}mark:${key}`)) === 1);
  }

  acquireLock(key: string, ttlMs: number): Promise<string | null> {
    return redisCall(async () => {
      const token = randomBytes(16).toString('hex');
      const r = await this.client.set(`${this.prefix}lock:${key}`, token, { expiration: { type: 'PX', value: Math.ceil(ttlMs) }, condition: 'NX' });
      return r === 'OK' ? token : null;
    });
  }

  releaseLock(key: string, token: string): Promise<void> {
    return redisCall(async () => {
      await this.client.eval(RELEASE_LOCK, { keys: [`${this.prefix}lock:${key}`], arguments: [token] });
    });
  }

  extendLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    return redisCall(
      async () => (await this.client.eval(EXTEND_LOCK, { keys: [`${this.prefix}lock:${key}`], arguments: [token, String(Math.ceil(ttlMs))] })) === 1,
    );
  }

  ping(): Promise<void> {
    return redisCall(() => this.conn.ping());
  }
}

export async function createRedisStores(opts: {
  /** Where Redis is (REDIS_URL, a cluster or Sentinel); or just `url`, for one server. */
  redis?: RedisConfig;
  url?: string;
  ttlMs: number;
  logger: Logger;
  prefix?: string;
  now?: () => number;
  commandTimeoutMs?: number;
}): Promise<Stores> {
  const cfg: RedisConfig | undefined = opts.redis ?? (opts.url ? { mode: 'single', url: opts.url, tls: opts.url.startsWith('rediss:') } : undefined);
  if (!cfg) throw new Error('createRedisStores: no Redis given');
  const conn = await connectRedis(cfg, { logger: opts.logger, commandTimeoutMs: opts.commandTimeoutMs ?? 1000 });
  const prefix = opts.prefix ?? 'xtc:';
  return {
    kind: 'redis',
    sessions: new RedisStore({ client: conn.sessionsClient, prefix: `${prefix}sess:`, ttl: Math.ceil(opts.ttlMs / 1000) }),
    authState: new RedisAuthStore(conn.client, conn, prefix, opts.now),
    outbox: new RedisOutbox(conn.client, prefix, opts.now),
    slidingLog: new RedisSlidingLog(conn.client, prefix),
    rateLimitStore: (name) => new RateLimitRedisStore({ prefix: `${prefix}rl:${name}:`, ...conn.rateLimitSend }),
    close: () => conn.close(),
  };
}

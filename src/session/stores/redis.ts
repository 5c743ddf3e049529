/**
 * Redis, for several replicas: sessions through connect-redis (the maintained express-session
 * store for node-redis), token sets, login transactions and refresh locks in our own keys.
 *
 * When Redis goes away, commands fail at once (no offline queue) so requests get a 503 instead
 * of hanging; the client keeps reconnecting in the background and the data is there when it returns.
 * A Redis that stops answering is a 503 after REDIS_COMMAND_TIMEOUT (see redisDeadline.ts).
 */
import { randomBytes } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { applyCommandDeadline, redisCall } from './redisDeadline.js';
import { RedisSlidingLog } from './redisSlidingLog.js';
import type { AuthStore, ClaimedEvent, Outbox, OutboxEvent, Stores, StoredTransaction } from './types.js';

type Client = ReturnType<typeof createClient>;

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
 * The outbox (Redis Cluster is out of scope: one script touches several keys, and claim, done and
 * retry build group keys from the prefix):
 *   outbox:seq       INCR, the order events were added in
 *   outbox:ev        HASH id -> JSON {seq, group, value, createdAt, attempts}
 *   outbox:lease     HASH id -> the token of the claim holding it
 *   outbox:created   ZSET id by createdAt (for stats)
 *   outbox:g:<group> ZSET id by seq: the group's queue, its head first
 *   outbox:due       ZSET group -> when its head may be claimed (its next attempt, or its lease's end)
 */
function outboxKeys(prefix: string) {
  return {
    seq: `${prefix}outbox:seq`,
    ev: `${prefix}outbox:ev`,
    lease: `${prefix}outbox:lease`,
    created: `${prefix}outbox:created`,
    due: `${prefix}outbox:due`,
    group: (group: string) => `${prefix}outbox:g:${group}`,
  };
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

/** DEL; then the event, when ARGV[1] is '1' and a live record was deleted. */
const DELETE_CONN =
  ADD_EVENT +
  `
local n = redis.call('DEL', KEYS[1])
if n == 1 and ARGV[1] == '1' then addEvent(2, 2) end
return n`;

/**
 * Claims the heads of up to ARGV[3] due groups. KEYS = due, ev, lease; ARGV = group key prefix,
 * now, max, leaseMs, token base. Returns id, token, event JSON for each.
 */
const CLAIM = `
local now = tonumber(ARGV[2])
local groups = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, group in ipairs(groups) do
  local gk = ARGV[1] .. group
  local id = redis.call('ZRANGE', gk, 0, 0)[1]
  local raw = id and redis.call('HGET', KEYS[2], id)
  if not id then
    redis.call('ZREM', KEYS[1], group)
  elseif not raw then
    redis.call('ZREM', gk, id) -- an id without its event: drop it, the next one is due next time
  else
    local token = ARGV[5] .. '.' .. i
    redis.call('HSET', KEYS[3], id, token)
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), group)
    table.insert(out, id)
    table.insert(out, token)
    table.insert(out, raw)
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

/** The outbox in Redis, shared by every replica (keys: see outboxKeys). */
export class RedisOutbox implements Outbox {
  private readonly keys;

  constructor(
    private readonly client: Client,
    prefix = 'xtc:',
    private readonly now: () => number = Date.now,
  ) {
    this.keys = outboxKeys(prefix);
  }

  claim(max: number, leaseMs: number): Promise<ClaimedEvent[]> {
    return redisCall(async () => {
      const k = this.keys;
      const args = [k.group(''), String(this.now()), String(Math.max(0, Math.floor(max))), String(Math.ceil(leaseMs)), randomBytes(12).toString('hex')];
      const flat = (await this.client.eval(CLAIM, { keys: [k.due, k.ev, k.lease], arguments: args })) as string[];
      const out: (ClaimedEvent & { seq: number })[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) {
        const e = JSON.parse(String(flat[i + 2])) as StoredEvent;
        out.push({ id: String(flat[i]), group: e.group, value: e.value, createdAt: e.createdAt, attempts: e.attempts, lease: String(flat[i + 1]), seq: e.seq });
      }
      // In the order they were added, as the other stores hand them out.
      return out.sort((a, b) => a.seq - b.seq).map(({ seq: _seq, ...e }) => e);
    });
  }

  done(id: string, lease: string): Promise<void> {
    return redisCall(async () => {
      const k = this.keys;
      await this.client.eval(OUTBOX_DONE, { keys: [k.ev, k.lease, k.created, k.due], arguments: [id, lease, String(this.now()), k.group('')] });
    });
  }

  retry(id: string, lease: string, nextAttemptAt: number): Promise<void> {
    return redisCall(async () => {
      const k = this.keys;
      await this.client.eval(OUTBOX_RETRY, { keys: [k.ev, k.lease, k.due], arguments: [id, lease, String(nextAttemptAt)] });
    });
  }

  stats(): Promise<{ pending: number; oldestCreatedAt?: number }> {
    return redisCall(async () => {
      const pending = await this.client.hLen(this.keys.ev);
      const oldest = await this.client.zRangeWithScores(this.keys.created, 0, 0);
      return { pending: Number(pending), oldestCreatedAt: oldest[0]?.score };
    });
  }
}

export class RedisAuthStore implements AuthStore {
  constructor(
    private readonly client: Client,
    private readonly prefix = 'xtc:',
    private readonly now: () => number = Date.now,
  ) {}

  private txKey = (owner: string) => `${this.prefix}tx:${owner}`;
  private connKey = (owner: string, provider: string) => `${this.prefix}conn:${owner}:${provider}`;

  /** The keys and arguments ADD_EVENT reads (after a flag '1'), or just the flag '0' without an event. */
  private event(event?: OutboxEvent): { keys: string[]; args: string[] } {
    if (!event) return { keys: [], args: ['0'] };
    const k = outboxKeys(this.prefix);
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
      return typeof v === 'string' ? v : null;
    });
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

  deleteConnection(owner: string, provider: string, event?: OutboxEvent): Promise<boolean> {
    const e = this.event(event);
    return redisCall(async () => (await this.client.eval(DELETE_CONN, { keys: [this.connKey(owner, provider), ...e.keys], arguments: e.args })) === 1);
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
    return redisCall(async () => {
      await this.client.ping();
    });
  }
}

export async function createRedisStores(opts: {
  url: string;
  ttlMs: number;
  logger: Logger;
  prefix?: string;
  now?: () => number;
  commandTimeoutMs?: number;
}): Promise<Stores> {
  let lastErrorLog = 0;
  let everConnected = false;
  const commandTimeoutMs = opts.commandTimeoutMs ?? 1000;
  // A PING every pingInterval keeps a healthy idle connection busy; a connection that has been
  // silent for longer than socketTimeout (nothing written or read: see redisDeadline.ts) is hung,
  // and node-redis replaces it.
  const pingInterval = Math.max(1000, 2 * commandTimeoutMs);
  const client: Client = createClient({
    url: opts.url,
    disableOfflineQueue: true,
    pingInterval,
    socket: {
      connectTimeout: 5000,
      socketTimeout: pingInterval + 3 * commandTimeoutMs,
      // At start, fail fast with a clear message; once up, keep reconnecting for as long as it takes.
      reconnectStrategy: (retries: number, cause: Error) =>
        everConnected
          ? Math.min(100 * 2 ** Math.min(retries, 5), 2000)
          : retries >= 3
            ? new Error(`gave up after ${retries} attempts (${cause.message})`)
            : 200,
    },
  });
  client.on('error', (err: unknown) => {
    // Never crash on a lost connection; log at most every 10 s while it is down.
    if (Date.now() - lastErrorLog > 10_000) {
      lastErrorLog = Date.now();
      opts.logger.warn({ code: (err as { code?: unknown })?.code }, 'redis is not reachable; retrying');
    }
  });
  const deadline = applyCommandDeadline(client, commandTimeoutMs);
  client.on('ready', () => {
    deadline.reset();
    everConnected = true;
    opts.logger.info('redis connected');
  });
  try {
    await client.connect();
  } catch (err) {
    try {
      client.destroy();
    } catch {
      /* already closed */
    }
    throw new Error(`cannot connect to Redis at REDIS_URL (${(err as { code?: string })?.code ?? (err as Error).message})`);
  }
  const prefix = opts.prefix ?? 'xtc:';
  return {
    kind: 'redis',
    sessions: new RedisStore({ client, prefix: `${prefix}sess:`, ttl: Math.ceil(opts.ttlMs / 1000) }),
    authState: new RedisAuthStore(client, prefix, opts.now),
    outbox: new RedisOutbox(client, prefix, opts.now),
    slidingLog: new RedisSlidingLog(client, prefix),
    rateLimitStore: (name) =>
      new RateLimitRedisStore({ prefix: `${prefix}rl:${name}:`, sendCommand: (...args: string[]) => client.sendCommand(args) as never }),
    async close() {
      try {
        // close() waits for pending replies; a hung server would keep it waiting for ever (the
        // socket's inactivity timeout still ends the connection).
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([client.close(), new Promise((r) => (timer = setTimeout(r, 2 * commandTimeoutMs)))]);
        clearTimeout(timer);
      } catch {
        client.destroy();
      }
    },
  };
}

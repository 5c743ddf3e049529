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
import type { AuthStore, Stores, StoredTransaction } from './types.js';

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

/** SET ... XX, only while the stored value is still ARGV[1] (compare-and-set). */
const REPLACE_IF = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/** A transaction entry is `created|expires|value`; expired or malformed entries read as null. */
function parseTxEntry(raw: unknown, now: number): { value: string; expiresAt: number } | null {
  if (typeof raw !== 'string') return null;
  const m = /^(\d+)\|(\d+)\|(.*)$/s.exec(raw);
  if (!m || Number(m[2]) <= now) return null;
  return { value: m[3] ?? '', expiresAt: Number(m[2]) };
}

const parseTx = (raw: unknown, now: number): string | null => parseTxEntry(raw, now)?.value ?? null;

export class RedisAuthStore implements AuthStore {
  constructor(
    private readonly client: Client,
    private readonly prefix = 'xtc:',
    private readonly now: () => number = Date.now,
  ) {}

  private txKey = (owner: string) => `${this.prefix}tx:${owner}`;
  private connKey = (owner: string, provider: string) => `${this.prefix}conn:${owner}:${provider}`;

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

  putConnection(owner: string, provider: string, value: string, ttlMs: number): Promise<void> {
    return redisCall(async () => {
      await this.client.set(this.connKey(owner, provider), value, { expiration: { type: 'PX', value: Math.ceil(ttlMs) } });
    });
  }

  replaceConnection(owner: string, provider: string, value: string, ttlMs: number, expected?: string): Promise<boolean> {
    return redisCall(async () => {
      if (expected !== undefined) {
        return (await this.client.eval(REPLACE_IF, { keys: [this.connKey(owner, provider)], arguments: [expected, value, String(Math.ceil(ttlMs))] })) === 1;
      }
      const r = await this.client.set(this.connKey(owner, provider), value, { expiration: { type: 'PX', value: Math.ceil(ttlMs) }, condition: 'XX' });
      return r === 'OK';
    });
  }

  deleteConnection(owner: string, provider: string): Promise<void> {
    return redisCall(async () => {
      await this.client.del(this.connKey(owner, provider));
    });
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

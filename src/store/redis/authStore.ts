import { randomBytes } from 'node:crypto';
import type { KeyClient, RedisConnection } from './connect.js';
import { redisCall } from './deadline.js';
import { pageConnections } from './connectionIndex.js';
import { PARTITIONS, connectionKeys, connectionMember, outboxKeys, partitionOf } from './keys.js';
import { dueArgs, dueConnections } from './dueIndex.js';
import {
  DELETE_CONN,
  EXTEND_LOCK,
  INDEX_ADD,
  INDEX_REMOVE,
  PUT_CONN,
  PUT_TX,
  RELEASE_LOCK,
  REPLACE_CONN,
  TAKE_ALL_TX,
  TAKE_TX,
  TOMBSTONE_PUT,
} from './scripts.js';
import type {
  AuthStore,
  ConnectionPage,
  DueConnection,
  DueQuery,
  OutboxEvent,
  StoredConnection,
  StoredTransaction,
} from '../types.js';

/** A transaction entry is `created|expires|value`; expired or malformed entries read as null. */
function parseTxEntry(raw: unknown, now: number): { value: string; expiresAt: number } | null {
  if (typeof raw !== 'string') return null;
  const m = /^(\d+)\|(\d+)\|(.*)$/s.exec(raw);
  if (!m || Number(m[2]) <= now) return null;
  return { value: m[3] ?? '', expiresAt: Number(m[2]) };
}

const parseTx = (raw: unknown, now: number): string | null => parseTxEntry(raw, now)?.value ?? null;

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
  /** In the owner's partition, with its outbox (see the key layout in keys.ts). */
  private connKey = (owner: string, provider: string) =>
    `${this.prefix}conn:{p${partitionOf(owner)}}:${owner}:${provider}`;
  /** The record's key, its partition's page index, and its member there. */
  private connKeys = (owner: string, provider: string) => {
    const k = connectionKeys(this.prefix, partitionOf(owner));
    return { keys: [this.connKey(owner, provider), k.index, k.due], member: connectionMember(owner, provider) };
  };

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
      await this.client.eval(PUT_TX, {
        keys: [this.txKey(owner)],
        arguments: [id, value, String(this.now()), String(Math.ceil(ttlMs)), String(max)],
      });
    });
  }

  takeTransaction(owner: string, id: string): Promise<string | null> {
    return redisCall(async () =>
      parseTx(await this.client.eval(TAKE_TX, { keys: [this.txKey(owner)], arguments: [id] }), this.now()),
    );
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
    if (ttl > 0) {
      // Indexed first: an index member without its record is skipped, a record without one never listed.
      const c = this.connKeys(owner, provider);
      await this.client.zAdd(c.keys[1]!, { score: 0, value: c.member });
      await this.client.set(this.connKey(owner, provider), value, {
        expiration: { type: 'PX', value: ttl },
        condition: 'NX',
      });
    }
    await this.client.del(legacy);
    if (ttl <= 0) return null;
    const now = await this.client.get(this.connKey(owner, provider));
    return typeof now === 'string' ? now : null;
  }

  putConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    event?: OutboxEvent,
    due?: number | null,
  ): Promise<void> {
    const e = this.event(event);
    return redisCall(async () => {
      const c = this.connKeys(owner, provider);
      await this.client.eval(PUT_CONN, {
        keys: [...c.keys, ...e.keys],
        arguments: [value, String(Math.ceil(ttlMs)), c.member, ...dueArgs(due), ...e.args],
      });
    });
  }

  replaceConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    expected?: string,
    event?: OutboxEvent,
    due?: number | null,
  ): Promise<boolean> {
    const e = this.event(event);
    const cas = expected !== undefined ? ['1', expected] : ['0', ''];
    const c = this.connKeys(owner, provider);
    return redisCall(
      async () =>
        (await this.client.eval(REPLACE_CONN, {
          keys: [...c.keys, ...e.keys],
          arguments: [value, String(Math.ceil(ttlMs)), c.member, ...cas, ...dueArgs(due), ...e.args],
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
    const c = this.connKeys(owner, provider);
    return redisCall(
      async () =>
        (await this.client.eval(DELETE_CONN, {
          keys: [...c.keys, ...e.keys],
          arguments: [...cas, c.member, ...e.args],
        })) === 1,
    );
  }

  /** Every partition's page index, merged (connectionIndex.ts). */
  pageConnections(page: ConnectionPage): Promise<StoredConnection[]> {
    return redisCall(() => pageConnections(this.client, this.prefix, page));
  }

  /** The expiry index: one sorted set per partition, read by score (dueIndex.ts). */
  readonly duePartitions = PARTITIONS;
  dueConnections(q: DueQuery): Promise<DueConnection[]> {
    return redisCall(() => dueConnections(this.client, this.prefix, q));
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
    return redisCall(async () =>
      (await this.client.zRangeByScoreWithScores(this.indexKey(key), `(${this.now()}`, '+inf')).map((m) =>
        String(m.value),
      ),
    );
  }

  removeFromIndex(key: string, member: string): Promise<void> {
    return redisCall(async () => {
      await this.client.eval(INDEX_REMOVE, { keys: [this.indexKey(key)], arguments: [member] });
    });
  }

  private tombstoneKey = (key: string) => `${this.prefix}bclt:${key}`;

  putLogoutTombstone(key: string, at: number, ttlMs: number): Promise<void> {
    return redisCall(async () => {
      await this.client.eval(TOMBSTONE_PUT, {
        keys: [this.tombstoneKey(key)],
        arguments: [String(Math.floor(at)), String(Math.max(1, Math.ceil(ttlMs)))],
      });
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
      async () =>
        (await this.client.set(`${this.prefix}mark:${key}`, '1', {
          expiration: { type: 'PX', value: Math.ceil(ttlMs) },
          condition: 'NX',
        })) === 'OK',
    );
  }

  hasMark(key: string): Promise<boolean> {
    return redisCall(async () => (await this.client.exists(`${this.prefix}mark:${key}`)) === 1);
  }

  acquireLock(key: string, ttlMs: number): Promise<string | null> {
    return redisCall(async () => {
      const token = randomBytes(16).toString('hex');
      const r = await this.client.set(`${this.prefix}lock:${key}`, token, {
        expiration: { type: 'PX', value: Math.ceil(ttlMs) },
        condition: 'NX',
      });
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
      async () =>
        (await this.client.eval(EXTEND_LOCK, {
          keys: [`${this.prefix}lock:${key}`],
          arguments: [token, String(Math.ceil(ttlMs))],
        })) === 1,
    );
  }

  ping(): Promise<void> {
    return redisCall(() => this.conn.ping());
  }
}

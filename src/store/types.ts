import type { Store as RateLimitStore } from 'express-rate-limit';
import type { Store } from 'express-session';
import type { Outbox, OutboxEvent } from './outboxTypes.js';
import type { SlidingLog } from './slidingLog.js';

export type {
  ClaimedEvent,
  DeadLetter,
  DeliveryAttempt,
  DeliveryLog,
  Outbox,
  OutboxEvent,
  ReplayQuery,
} from './outboxTypes.js';

/**
 * Server-side state that lives beside the express-session record rather than inside it.
 *
 * express-session writes the whole session object back at the end of every request, so a
 * request that started before a refresh would put the old token set back (express-openid-connect
 * issue #408), and two tabs starting a login at once would drop one tab's state. Token sets and
 * login transactions therefore live in their own records, each written atomically, keyed by the
 * session's private `owner` id (never sent to the browser).
 *
 * AuthStore is the roles below together (TransactionStore, ConnectionStore, MarkStore,
 * LogoutIndexStore, LockStore); a caller that needs one role can ask for that one alone.
 */
export interface AuthStore extends TransactionStore, ConnectionStore, MarkStore, LogoutIndexStore, LockStore {
  /** Throws when the store cannot answer (used by /readyz). */
  ping(): Promise<void>;
}

/** Login transactions: a few per owner, each taken once. */
export interface TransactionStore {
  /** Adds a login transaction; keeps at most `max` per owner (the oldest go first). */
  putTransaction(owner: string, id: string, value: string, ttlMs: number, max: number): Promise<void>;
  /** Reads and deletes a transaction in one atomic step: a state is good for one callback only. */
  takeTransaction(owner: string, id: string): Promise<string | null>;
  countTransactions(owner: string): Promise<number>;
  /** Reads and deletes every live transaction of `owner` in one atomic step (used when the owner id is rotated at login). */
  takeAllTransactions(owner: string): Promise<StoredTransaction[]>;
}

/** Connection records (sealed token sets), each written with the outbox event it reports. */
export interface ConnectionStore {
  getConnection(owner: string, provider: string): Promise<string | null>;
  /**
   * Writes the record; with `event`, adds it to the outbox in the same atomic step (one SQLite transaction, one Redis script).
   * `due` sets the record's place in the expiry index in that same step (see dueConnections): a time indexes it there,
   * null takes it out, undefined leaves it as it was.
   */
  putConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    event?: OutboxEvent,
    due?: number | null,
  ): Promise<void>;
  /**
   * Writes only if the record still exists (a disconnect wins over an in-flight refresh) and, when
   * `expected` is given, only if the stored value is still exactly `expected` (compare-and-set: a
   * refresh whose lock lapsed cannot write over a newer record, nor over a fresh login's).
   * `event` is added to the outbox in the same atomic step, and only when the write happens; `due`
   * moves the record in the expiry index in that step too (as putConnection's).
   */
  replaceConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    expected?: string,
    event?: OutboxEvent,
    due?: number | null,
  ): Promise<boolean>;
  /**
   * Deletes the record. True when there was one. `event` is added to the outbox in the same
   * atomic step, and only when a record was deleted. With `expected`, deletes only while the
   * stored value is still exactly `expected` (compare-and-delete: a newer login's record stays).
   * A deleted record leaves the expiry index in the same step.
   */
  deleteConnection(owner: string, provider: string, event?: OutboxEvent, expected?: string): Promise<boolean>;
  /** How many connection records of `provider` are stored (ended ones kept as tombstones included): for a gauge, read at most once a minute. */
  countConnections(provider: string): Promise<number>;
  /**
   * A page of live connection records whose owner starts with `page.ownerPrefix`, in the order of
   * their stored key (owner, then provider, compared byte by byte), starting after `page.after`
   * (exclusive) and at most `page.limit` of them. Expired records are skipped. Stable while records
   * are added and deleted between pages: a walk from the start, each page after the last key of the
   * one before, returns no record twice, and a record stored for the whole walk exactly once.
   */
  pageConnections(page: ConnectionPage): Promise<StoredConnection[]>;
  /**
   * The expiry index (the keeper's: a subject's connection is indexed at its refresh token's
   * expiry): live records indexed before `q.before`, in (due, owner, provider) order, after
   * `q.after` (exclusive), at most `q.limit`, of partition `q.partition` (0 by default). Reads only
   * those entries, never the whole table. An entry whose record is gone is skipped (and may be dropped).
   */
  dueConnections(q: DueQuery): Promise<DueConnection[]>;
  /** How many partitions the expiry index has (0 .. duePartitions − 1): Redis 16, one elsewhere. */
  readonly duePartitions: number;
}

/** A page of the expiry index (ConnectionStore.dueConnections). */
export interface DueQuery {
  /** Only entries due before this (ms since the epoch, exclusive). */
  before: number;
  /** The last entry of the page before: this page starts after it in (due, owner, provider) order. */
  after?: ConnectionKey & { due: number };
  limit: number;
  partition?: number;
}

export interface DueConnection extends StoredConnection {
  due: number;
}

/** Compares two index entries in dueConnections order. */
export function compareDue(a: ConnectionKey & { due: number }, b: ConnectionKey & { due: number }): number {
  return a.due !== b.due ? a.due - b.due : compareConnectionKeys(a, b);
}

/** Where a page of connection records starts and how long it is (see ConnectionStore.pageConnections). */
export interface ConnectionPage {
  /** Only records whose owner starts with this (for example `sub.`, the subjects' records). */
  ownerPrefix: string;
  /** The key of the last record of the page before; absent for the first page. */
  after?: ConnectionKey;
  limit: number;
}

/** A connection record's stored key. */
export interface ConnectionKey {
  owner: string;
  provider: string;
}

export interface StoredConnection extends ConnectionKey {
  value: string;
}

/** Compares two stored keys in page order: owner, then provider, by UTF-16 code units (bytes, for the ASCII keys stored). */
export function compareConnectionKeys(a: ConnectionKey, b: ConnectionKey): number {
  if (a.owner !== b.owner) return a.owner < b.owner ? -1 : 1;
  return a.provider === b.provider ? 0 : a.provider < b.provider ? -1 : 1;
}

/** Single-use marks (link token ids). */
export interface MarkStore {
  /**
   * Sets `key` if it is not set yet, for `ttlMs`; true when this call set it. Atomic across
   * replicas: of several callers with one key, exactly one gets true (single-use link token ids).
   */
  markOnce(key: string, ttlMs: number): Promise<boolean>;
  /** True while `key` is set (and not expired). */
  hasMark(key: string): Promise<boolean>;
}

/** The back-channel logout index and the logout tombstones. */
export interface LogoutIndexStore {
  /**
   * A small set with an expiry per member: the back-channel logout index (a provider session or
   * user → the owners whose connections it made). Adds `member` to the set `key` for `ttlMs` (again:
   * its expiry moves), keeping at most `max` live members (those expiring soonest go first).
   */
  addToIndex(key: string, member: string, ttlMs: number, max: number): Promise<void>;
  /** The live members of the set `key` (none when it does not exist). */
  readIndex(key: string): Promise<string[]>;
  /** Removes `member` from the set `key`. */
  removeFromIndex(key: string, member: string): Promise<void>;

  /**
   * A back-channel logout's tombstone: the provider session or user `key` was logged out at `at`
   * (ms, the server's clock). Several logouts keep the latest `at`; the tombstone is kept for
   * `ttlMs` (a later call may move its expiry on, never back). Unbounded by design: a logout
   * reaches every connection it names through these, however many logins came after.
   */
  putLogoutTombstone(key: string, at: number, ttlMs: number): Promise<void>;
  /** The logout time of each of `keys`' live tombstones, in order (0 where there is none): on the read path of a connection. */
  logoutTombstones(keys: string[]): Promise<number[]>;
}

/** Locks with a TTL and an owner token (refresh coordination across replicas). */
export interface LockStore {
  /** A lock with a TTL; returns an owner token, or null when somebody else holds it. */
  acquireLock(key: string, ttlMs: number): Promise<string | null>;
  /**
   * Sets the lock's TTL to `ttlMs` from now, only if `token` still owns it (a lease renewed by its
   * holder while its work is alive). False when it does not: it expired, or was taken over.
   */
  extendLock(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock only if `token` still owns it. */
  releaseLock(key: string, token: string): Promise<void>;
}

export interface StoredTransaction {
  id: string;
  value: string;
  /** When it expires, in the store's clock (ms since the epoch). */
  expiresAt: number;
}

/** Sliding rate windows (the XT.COM guard's call log): see slidingLog.ts. */
export type RateWindows = SlidingLog;

/**
 * The persistence layer, by role: transactions, connections, marks, the logout index and locks
 * (`authState`, one AuthStore over all five), the webhook outbox, rate windows and the session store.
 */
export interface Stores {
  kind: 'sqlite' | 'redis' | 'memory';
  sessions: Store;
  authState: AuthStore;
  /** Webhook events, written with the connection changes they report (see AuthStore's `event` parameters). */
  outbox: Outbox;
  /** A shared counter store for rate limits (Redis), so replicas enforce one limit. Absent: per process. */
  rateLimitStore?(prefix: string): RateLimitStore;
  /** Sliding rate windows shared by every replica (Redis). Absent: the caller keeps its own, per process. */
  slidingLog?: RateWindows;
  close(): Promise<void>;
}

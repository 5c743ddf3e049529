import type { Store as RateLimitStore } from 'express-rate-limit';
import type { Store } from 'express-session';
import type { SlidingLog } from './slidingLog.js';

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

/**
 * A webhook event waiting in the outbox. `value` is sealed (it holds the subject); the store only
 * keeps it and its bookkeeping. Events of one `group` (a subject, or a session's owner) are
 * handed out strictly in the order they were added, one at a time: the next one of a group is
 * not claimable until the one before it is done.
 */
export interface OutboxEvent {
  /** Unique id, also the webhook-id: `msg_` + random. */
  id: string;
  /** Ordering key: events of one group are delivered in the order they were added. */
  group: string;
  value: string;
  /** When it was created, ms since the epoch. */
  createdAt: number;
}

export interface ClaimedEvent extends OutboxEvent {
  /** Failed attempts before this one. */
  attempts: number;
  /** The claim's token: only its holder can finish or reschedule the event. */
  lease: string;
}

/** An event the outbox gave up on (past WEBHOOK_MAX_AGE): kept, still sealed, for a replay. */
export interface DeadLetter extends OutboxEvent {
  /** Failed attempts. */
  attempts: number;
  /** When it was moved to the dead-letter set, ms since the epoch. */
  diedAt: number;
}

/** One delivery attempt, as the delivery log keeps it: never a payload, a subject or a secret. */
export interface DeliveryAttempt {
  /** Unique, and sorts by time: `<at, 13 digits>-<random>`. The log's order and its cursor. */
  key: string;
  /** The event's webhook-id. */
  eventId: string;
  type: string;
  /** delivered (2xx), failed (retried), gone (410), dead (past WEBHOOK_MAX_AGE: no request). */
  status: 'delivered' | 'failed' | 'gone' | 'dead';
  /** The HTTP status, or null when there was no answer (or no request). */
  statusCode: number | null;
  durationMs: number;
  /** 1 for the first attempt of the event. */
  attempt: number;
  /** Why there was no 2xx: `http_<status>`, `timeout`, `ECONNREFUSED`…, `max_age`; null when delivered. */
  errorClass: string | null;
  /** When the attempt ended, ms since the epoch. */
  at: number;
}

/** The delivery log: attempts kept until an expiry, at most a bounded number, newest first. */
export interface DeliveryLog {
  /** Adds an attempt, kept until `keepUntil`; the oldest beyond `maxEntries` are removed. */
  logAttempt(a: DeliveryAttempt, keepUntil: number, maxEntries: number): Promise<void>;
  /**
   * Newest first, older than `before` (a key) when given; reads at most `scan` entries and returns
   * those of `status` (every one without), at most `limit`. `last`: the key of the last entry read
   * (the next page starts after it), undefined when the log has no more.
   */
  readAttempts(q: {
    before?: string;
    status?: DeliveryAttempt['status'];
    limit: number;
    scan: number;
  }): Promise<{ items: DeliveryAttempt[]; last?: string }>;
}

export interface Outbox extends DeliveryLog {
  /**
   * Claims up to `max` events for `leaseMs`: only the first pending event of each group, only if
   * it is due (its next attempt time has come) and not held by a live lease. A lease that ran
   * out (or, with SQLite, whose holding process is gone) can be claimed again.
   */
  claim(max: number, leaseMs: number): Promise<ClaimedEvent[]>;
  /** Delivered (or given up): removes the event, if `lease` still holds it; the group's next event becomes due. */
  done(id: string, lease: string): Promise<void>;
  /** A failed attempt: attempts + 1, due again at `nextAttemptAt`, lease released (if `lease` still holds it). */
  retry(id: string, lease: string, nextAttemptAt: number): Promise<void>;
  /** How many events are pending, and when the oldest was created. */
  stats(): Promise<{ pending: number; oldestCreatedAt?: number }>;
  /**
   * Given up (past WEBHOOK_MAX_AGE): moves the event, if `lease` still holds it, still sealed, to the
   * dead-letter set, kept until `keepUntil` (ms since the epoch); the group's next event becomes due.
   */
  bury(id: string, lease: string, keepUntil: number): Promise<void>;
  /** Up to `max` dead letters not yet expired, the earliest buried first. */
  deadLetters(max: number): Promise<DeadLetter[]>;
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

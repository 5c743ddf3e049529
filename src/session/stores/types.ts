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
 */
export interface AuthStore {
  /** Adds a login transaction; keeps at most `max` per owner (the oldest go first). */
  putTransaction(owner: string, id: string, value: string, ttlMs: number, max: number): Promise<void>;
  /** Reads and deletes a transaction in one atomic step: a state is good for one callback only. */
  takeTransaction(owner: string, id: string): Promise<string | null>;
  countTransactions(owner: string): Promise<number>;
  /** Reads and deletes every live transaction of `owner` in one atomic step (used when the owner id is rotated at login). */
  takeAllTransactions(owner: string): Promise<StoredTransaction[]>;

  getConnection(owner: string, provider: string): Promise<string | null>;
  putConnection(owner: string, provider: string, value: string, ttlMs: number): Promise<void>;
  /**
   * Writes only if the record still exists (a disconnect wins over an in-flight refresh) and, when
   * `expected` is given, only if the stored value is still exactly `expected` (compare-and-set: a
   * refresh whose lock lapsed cannot write over a newer record, nor over a fresh login's).
   */
  replaceConnection(owner: string, provider: string, value: string, ttlMs: number, expected?: string): Promise<boolean>;
  deleteConnection(owner: string, provider: string): Promise<void>;

  /** A lock with a TTL; returns an owner token, or null when somebody else holds it. */
  acquireLock(key: string, ttlMs: number): Promise<string | null>;
  /**
   * Sets the lock's TTL to `ttlMs` from now, only if `token` still owns it (a lease renewed by its
   * holder while its work is alive). False when it does not: it expired, or was taken over.
   */
  extendLock(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock only if `token` still owns it. */
  releaseLock(key: string, token: string): Promise<void>;

  /** Throws when the store cannot answer (used by /readyz). */
  ping(): Promise<void>;
}

export interface StoredTransaction {
  id: string;
  value: string;
  /** When it expires, in the store's clock (ms since the epoch). */
  expiresAt: number;
}

export interface Stores {
  kind: 'sqlite' | 'redis' | 'memory';
  sessions: Store;
  authState: AuthStore;
  /** A shared counter store for rate limits (Redis), so replicas enforce one limit. Absent: per process. */
  rateLimitStore?(prefix: string): RateLimitStore;
  /** Sliding rate windows shared by every replica (Redis). Absent: the caller keeps its own, per process. */
  slidingLog?: SlidingLog;
  close(): Promise<void>;
}

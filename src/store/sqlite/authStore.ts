import { randomBytes } from 'node:crypto';
import { holderIsGone, holderSuffix } from '../holder.js';
import type {
  AuthStore,
  ConnectionPage,
  DueConnection,
  DueQuery,
  OutboxEvent,
  StoredConnection,
  StoredTransaction,
} from '../types.js';
import { type AuthStatements, prepareAuthStatements } from './authStatements.js';
import { type Db, guard } from './db.js';
import { SqliteOutbox } from './outbox.js';

export class SqliteAuthStore implements AuthStore {
  private readonly s: AuthStatements;
  readonly duePartitions = 1;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    readonly outbox: SqliteOutbox = new SqliteOutbox(db, now),
  ) {
    this.s = prepareAuthStatements(db);
  }

  async putTransaction(owner: string, id: string, value: string, ttlMs: number, max: number): Promise<void> {
    const now = this.now();
    guard(() =>
      this.db.transaction(() => {
        this.s.txInsert.run(owner, id, value, now, now + ttlMs);
        this.s.txTrim.run(owner, now, owner, now, max);
      })(),
    );
  }

  async takeTransaction(owner: string, id: string): Promise<string | null> {
    return guard(() => this.s.txTake.get(owner, id, this.now())?.data ?? null);
  }

  async takeAllTransactions(owner: string): Promise<StoredTransaction[]> {
    const now = this.now();
    return guard(() => this.s.txTakeAll.all(owner))
      .filter((r) => r.expires > now)
      .map((r) => ({ id: r.id, value: r.data, expiresAt: r.expires }));
  }

  async countTransactions(owner: string): Promise<number> {
    return guard(() => this.s.txCount.get(owner, this.now())?.n ?? 0);
  }

  async getConnection(owner: string, provider: string): Promise<string | null> {
    return guard(() => this.s.connGet.get(owner, provider, this.now())?.data ?? null);
  }

  /** Runs `write` and, when it reports true and there is an event, adds the event: one transaction. */
  private withEvent(write: () => boolean, event?: OutboxEvent): boolean {
    return guard(() =>
      this.db.transaction(() => {
        const wrote = write();
        if (wrote && event) this.outbox.add(event);
        return wrote;
      })(),
    );
  }

  async putConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    event?: OutboxEvent,
    due?: number | null,
  ): Promise<void> {
    const expires = this.now() + ttlMs;
    this.withEvent(() => {
      this.s.connPut.run(owner, provider, value, expires, due ?? null, due === undefined ? 1 : 0);
      return true;
    }, event);
  }

  async replaceConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    expected?: string,
    event?: OutboxEvent,
    due?: number | null,
  ): Promise<boolean> {
    const now = this.now();
    const d = [due === undefined ? 1 : 0, due ?? null] as const;
    return this.withEvent(
      () =>
        (expected !== undefined
          ? this.s.connReplaceIf.run(value, now + ttlMs, ...d, owner, provider, now, expected)
          : this.s.connReplace.run(value, now + ttlMs, ...d, owner, provider, now)
        ).changes === 1,
      event,
    );
  }

  /** True when a live record was deleted (an expired row is deleted too, but counts as none). */
  async countConnections(provider: string): Promise<number> {
    return guard(() => this.s.connCount.get(provider, this.now())?.n ?? 0);
  }

  async deleteConnection(owner: string, provider: string, event?: OutboxEvent, expected?: string): Promise<boolean> {
    const now = this.now();
    const del = () =>
      expected === undefined
        ? this.s.connDelete.get(owner, provider)
        : this.s.connDeleteIf.get(owner, provider, expected);
    return this.withEvent(() => (del()?.expires ?? 0) > now, event);
  }

  /**
   * An index range on the primary key: after the start key (or the owner prefix itself), before the
   * first string past the prefix (its last character raised by one). Expired rows are skipped (the
   * sweep deletes them).
   */
  async pageConnections(page: ConnectionPage): Promise<StoredConnection[]> {
    const { ownerPrefix: p, after } = page;
    const start = after && after.owner >= p ? after : { owner: p, provider: '' };
    const end = p ? p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1) : '\u{10ffff}';
    return guard(() =>
      this.s.connPage
        .all(start.owner, start.provider, end, this.now(), page.limit)
        .map((r) => ({ owner: r.owner, provider: r.provider, value: r.data })),
    );
  }

  /** A range of the partial index on (due, owner, provider): only the due rows are read. */
  async dueConnections(q: DueQuery): Promise<DueConnection[]> {
    const a = q.after ?? { due: -Infinity, owner: '', provider: '' };
    return guard(() =>
      this.s.connDue
        .all(q.before, a.due, a.owner, a.provider, this.now(), q.limit)
        .map((r) => ({ owner: r.owner, provider: r.provider, value: r.data, due: r.due })),
    );
  }

  /** Takes the mark when it is absent or expired: one statement, so one caller wins. */
  async markOnce(key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    return guard(() => this.s.markTake.run(key, now + ttlMs, now).changes === 1);
  }

  async hasMark(key: string): Promise<boolean> {
    return guard(() => this.s.markGet.get(key, this.now()) !== undefined);
  }

  async addToIndex(key: string, member: string, ttlMs: number, max: number): Promise<void> {
    const now = this.now();
    guard(() =>
      this.db.transaction(() => {
        this.s.indexPut.run(key, member, now + ttlMs);
        this.s.indexTrim.run(key, now, key, now, max);
      })(),
    );
  }

  async readIndex(key: string): Promise<string[]> {
    return guard(() => this.s.indexGet.all(key, this.now()).map((r) => r.member));
  }

  async removeFromIndex(key: string, member: string): Promise<void> {
    guard(() => this.s.indexDelete.run(key, member));
  }

  async putLogoutTombstone(key: string, at: number, ttlMs: number): Promise<void> {
    const now = this.now();
    guard(() => this.s.tombstonePut.run(key, at, now + ttlMs, now));
  }

  async logoutTombstones(keys: string[]): Promise<number[]> {
    const now = this.now();
    return guard(() => keys.map((key) => this.s.tombstoneGet.get(key, now)?.at ?? 0));
  }

  /**
   * Takes the lock when it is free or expired, or when the process holding it no longer exists
   * (see holder.ts: the token names its process, so a restart after a crash need not wait).
   */
  async acquireLock(key: string, ttlMs: number): Promise<string | null> {
    const token = randomBytes(16).toString('hex') + holderSuffix;
    const now = this.now();
    const taken = guard(() => {
      if (this.s.lockTake.run(key, token, now + ttlMs, now).changes === 1) return true;
      const held = this.s.lockHolder.get(key);
      // Compare-and-set on the dead holder's token: of several processes, one takes it over.
      return (
        !!held && holderIsGone(held.token) && this.s.lockSteal.run(token, now + ttlMs, key, held.token).changes === 1
      );
    });
    return taken ? token : null;
  }

  async extendLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    return guard(() => this.s.lockExtend.run(now + ttlMs, key, token, now).changes === 1);
  }

  async releaseLock(key: string, token: string): Promise<void> {
    guard(() => this.s.lockRelease.run(key, token));
  }

  async ping(): Promise<void> {
    guard(() => this.db.prepare('SELECT 1').get());
  }
}

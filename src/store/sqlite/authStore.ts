import { randomBytes } from 'node:crypto';
import { holderIsGone, holderSuffix } from '../holder.js';
import type { AuthStore, OutboxEvent, StoredTransaction } from '../types.js';
import { type Db, guard } from './db.js';
import { SqliteOutbox } from './outbox.js';

export class SqliteAuthStore implements AuthStore {
  private readonly s;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    readonly outbox: SqliteOutbox = new SqliteOutbox(db, now),
  ) {
    this.s = {
      txInsert: db.prepare(
        'INSERT OR REPLACE INTO login_tx (owner, id, data, created, expires) VALUES (?, ?, ?, ?, ?)',
      ),
      txTrim: db.prepare(
        'DELETE FROM login_tx WHERE owner = ? AND (expires <= ? OR rowid NOT IN (SELECT rowid FROM login_tx WHERE owner = ? AND expires > ? ORDER BY created DESC, rowid DESC LIMIT ?))',
      ),
      txTake: db.prepare<[string, string, number], { data: string }>(
        'DELETE FROM login_tx WHERE owner = ? AND id = ? AND expires > ? RETURNING data',
      ),
      txTakeAll: db.prepare<[string], { id: string; data: string; expires: number }>(
        'DELETE FROM login_tx WHERE owner = ? RETURNING id, data, expires',
      ),
      txCount: db.prepare<[string, number], { n: number }>(
        'SELECT COUNT(*) AS n FROM login_tx WHERE owner = ? AND expires > ?',
      ),
      connGet: db.prepare<[string, string, number], { data: string }>(
        'SELECT data FROM connections WHERE owner = ? AND provider = ? AND expires > ?',
      ),
      connPut: db.prepare(
        'INSERT INTO connections (owner, provider, data, expires) VALUES (?, ?, ?, ?) ON CONFLICT(owner, provider) DO UPDATE SET data = excluded.data, expires = excluded.expires',
      ),
      connReplace: db.prepare(
        'UPDATE connections SET data = ?, expires = ? WHERE owner = ? AND provider = ? AND expires > ?',
      ),
      connReplaceIf: db.prepare(
        'UPDATE connections SET data = ?, expires = ? WHERE owner = ? AND provider = ? AND expires > ? AND data = ?',
      ),
      connDelete: db.prepare<[string, string], { expires: number }>(
        'DELETE FROM connections WHERE owner = ? AND provider = ? RETURNING expires',
      ),
      connDeleteIf: db.prepare<[string, string, string], { expires: number }>(
        'DELETE FROM connections WHERE owner = ? AND provider = ? AND data = ? RETURNING expires',
      ),
      connCount: db.prepare<[string, number], { n: number }>(
        'SELECT COUNT(*) AS n FROM connections WHERE provider = ? AND expires > ?',
      ),
      markTake: db.prepare(
        'INSERT INTO marks (key, expires) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET expires = excluded.expires WHERE marks.expires <= ?',
      ),
      markGet: db.prepare<[string, number], { one: number }>(
        'SELECT 1 AS one FROM marks WHERE key = ? AND expires > ?',
      ),
      indexPut: db.prepare(
        'INSERT INTO logout_index (key, member, expires) VALUES (?, ?, ?) ON CONFLICT(key, member) DO UPDATE SET expires = excluded.expires',
      ),
      indexTrim: db.prepare(
        'DELETE FROM logout_index WHERE key = ? AND (expires <= ? OR rowid NOT IN (SELECT rowid FROM logout_index WHERE key = ? AND expires > ? ORDER BY expires DESC, rowid DESC LIMIT ?))',
      ),
      indexGet: db.prepare<[string, number], { member: string }>(
        'SELECT member FROM logout_index WHERE key = ? AND expires > ?',
      ),
      indexDelete: db.prepare('DELETE FROM logout_index WHERE key = ? AND member = ?'),
      tombstonePut: db.prepare(
        'INSERT INTO logout_tombstones (key, at, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET at = CASE WHEN expires > ? THEN MAX(at, excluded.at) ELSE excluded.at END, expires = MAX(expires, excluded.expires)',
      ),
      tombstoneGet: db.prepare<[string, number], { at: number }>(
        'SELECT at FROM logout_tombstones WHERE key = ? AND expires > ?',
      ),
      lockTake: db.prepare(
        'INSERT INTO locks (key, token, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET token = excluded.token, expires = excluded.expires WHERE locks.expires <= ?',
      ),
      lockRelease: db.prepare('DELETE FROM locks WHERE key = ? AND token = ?'),
      lockExtend: db.prepare('UPDATE locks SET expires = ? WHERE key = ? AND token = ? AND expires > ?'),
      lockHolder: db.prepare<[string], { token: string }>('SELECT token FROM locks WHERE key = ?'),
      lockSteal: db.prepare('UPDATE locks SET token = ?, expires = ? WHERE key = ? AND token = ?'),
    };
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
  ): Promise<void> {
    const expires = this.now() + ttlMs;
    this.withEvent(() => {
      this.s.connPut.run(owner, provider, value, expires);
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
  ): Promise<boolean> {
    const now = this.now();
    return this.withEvent(
      () =>
        (expected !== undefined
          ? this.s.connReplaceIf.run(value, now + ttlMs, owner, provider, now, expected)
          : this.s.connReplace.run(value, now + ttlMs, owner, provider, now)
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

/**
 * The default store: one SQLite file under DATA_DIR (better-sqlite3, WAL mode).
 * It survives restarts; expired rows are swept on a schedule and the freed pages are
 * handed back to the file system (auto_vacuum = INCREMENTAL), so the file does not grow without bound.
 * The lock table makes refresh coordination correct even for several processes sharing one file.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import session from 'express-session';
import { AppError } from '../../errors.js';
import { holderIsGone, holderSuffix } from '../holder.js';
import type { AuthStore, ClaimedEvent, Outbox, OutboxEvent, Stores, StoredTransaction } from '../types.js';

type SessionData = session.SessionData;
type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, data TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions(expires);
CREATE TABLE IF NOT EXISTS login_tx (owner TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (owner, id));
CREATE INDEX IF NOT EXISTS login_tx_expires ON login_tx(expires);
CREATE TABLE IF NOT EXISTS connections (owner TEXT NOT NULL, provider TEXT NOT NULL, data TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (owner, provider));
CREATE INDEX IF NOT EXISTS connections_expires ON connections(expires);
CREATE TABLE IF NOT EXISTS locks (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, grp TEXT NOT NULL, data TEXT NOT NULL, created INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due INTEGER NOT NULL DEFAULT 0, lease TEXT, lease_until INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_grp_seq ON outbox(grp, seq);
CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS logout_index (key TEXT NOT NULL, member TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (key, member));
CREATE INDEX IF NOT EXISTS logout_index_expires ON logout_index(expires);
CREATE TABLE IF NOT EXISTS logout_tombstones (key TEXT PRIMARY KEY, at INTEGER NOT NULL, expires INTEGER NOT NULL);
`;

/** Every database failure becomes a 503 the person can retry; the SQLite message stays in the log only. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new AppError('store_unavailable', {
      detail: { store: 'sqlite', sqlite: typeof code === 'string' ? code : 'unknown' },
    });
  }
}

/**
 * The database and its WAL and shared-memory files hold sessions and sealed tokens: readable by
 * the app's own user only. The file is created 0600 before SQLite opens it (SQLite then creates
 * -wal and -shm with the database file's mode), and a file left readable by others by an older
 * version is tightened (a file we cannot chmod, not ours, is left as it is).
 */
function privateFiles(db: string): void {
  fs.closeSync(fs.openSync(db, 'a', 0o600));
  for (const f of [db, `${db}-wal`, `${db}-shm`]) {
    try {
      if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
    } catch {
      // Absent (-wal, -shm before the first write) or not ours: nothing to tighten.
    }
  }
}

/**
 * Opens (and creates) the database, failing loudly at start when DATA_DIR is unusable. A DATA_DIR
 * it creates is 0700; an existing one keeps its mode (it may be a mount the operator shares).
 */
export function openDatabase(dataDir: string, file = 'xt-connect.sqlite'): Db {
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (err) {
    throw new Error(`DATA_DIR ${dataDir} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}); sessions cannot be stored`);
  }
  let db: Db | undefined;
  try {
    privateFiles(path.join(dataDir, file));
    db = new Database(path.join(dataDir, file));
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    // Prove now, not at the first login, that we can write.
    db.prepare('INSERT OR REPLACE INTO locks (key, token, expires) VALUES (?, ?, 0)').run('startup-write-check', 'x');
    db.prepare('DELETE FROM locks WHERE key = ?').run('startup-write-check');
    return db;
  } catch (err) {
    db?.close();
    const code = (err as { code?: unknown }).code;
    throw new Error(`cannot use the session database in ${dataDir} (${typeof code === 'string' ? code : (err as Error).message})`);
  }
}

export class SqliteSessionStore extends session.Store {
  private readonly stmts;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.stmts = {
      get: db.prepare<[string, number], { data: string }>('SELECT data FROM sessions WHERE sid = ? AND expires > ?'),
      set: db.prepare(
        'INSERT INTO sessions (sid, data, expires) VALUES (?, ?, ?) ON CONFLICT(sid) DO UPDATE SET data = excluded.data, expires = excluded.expires',
      ),
      touch: db.prepare('UPDATE sessions SET expires = ? WHERE sid = ?'),
      destroy: db.prepare('DELETE FROM sessions WHERE sid = ?'),
      length: db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM sessions WHERE expires > ?'),
      clear: db.prepare('DELETE FROM sessions'),
    };
  }

  private expiry(sess: SessionData): number {
    const exp = sess.cookie?.expires;
    const t = exp ? new Date(exp).getTime() : NaN;
    return Number.isFinite(t) ? t : this.now() + this.ttlMs;
  }

  override get(sid: string, cb: (err: unknown, session?: SessionData | null) => void): void {
    let row: { data: string } | undefined;
    try {
      row = guard(() => this.stmts.get.get(sid, this.now()));
    } catch (err) {
      return cb(err);
    }
    if (!row) return cb(null, null);
    try {
      cb(null, JSON.parse(row.data) as SessionData);
    } catch {
      cb(null, null); // a corrupt row counts as no session
    }
  }

  override set(sid: string, sess: SessionData, cb?: (err?: unknown) => void): void {
    try {
      guard(() => this.stmts.set.run(sid, JSON.stringify(sess), this.expiry(sess)));
      cb?.();
    } catch (err) {
      cb?.(err);
    }
  }

  override touch(sid: string, sess: SessionData, cb?: (err?: unknown) => void): void {
    try {
      guard(() => this.stmts.touch.run(this.expiry(sess), sid));
      cb?.();
    } catch (err) {
      cb?.(err);
    }
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    try {
      guard(() => this.stmts.destroy.run(sid));
      cb?.();
    } catch (err) {
      cb?.(err);
    }
  }

  override length(cb: (err: unknown, length?: number) => void): void {
    try {
      cb(
        null,
        guard(() => this.stmts.length.get(this.now())?.n ?? 0),
      );
    } catch (err) {
      cb(err);
    }
  }

  override clear(cb?: (err?: unknown) => void): void {
    try {
      guard(() => this.stmts.clear.run());
      cb?.();
    } catch (err) {
      cb?.(err);
    }
  }
}

interface OutboxRow {
  seq: number;
  id: string;
  grp: string;
  data: string;
  created: number;
  attempts: number;
  lease: string | null;
  lease_until: number;
}

/**
 * The outbox in the database file, shared by every process using it. Only the head (lowest seq)
 * of each group is claimable; a lease names its process (see holder.ts) so a crashed process's
 * claims need not wait for their lease to run out.
 */
export class SqliteOutbox implements Outbox {
  private readonly s;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.s = {
      insert: db.prepare('INSERT INTO outbox (id, grp, data, created) VALUES (?, ?, ?, ?)'),
      dueHeads: db.prepare<[number], OutboxRow>(
        'SELECT seq, id, grp, data, created, attempts, lease, lease_until FROM outbox WHERE seq IN (SELECT MIN(seq) FROM outbox GROUP BY grp) AND due <= ? ORDER BY seq',
      ),
      lease: db.prepare('UPDATE outbox SET lease = ?, lease_until = ? WHERE seq = ?'),
      done: db.prepare('DELETE FROM outbox WHERE id = ? AND lease = ?'),
      retry: db.prepare('UPDATE outbox SET attempts = attempts + 1, due = ?, lease = NULL, lease_until = 0 WHERE id = ? AND lease = ?'),
      stats: db.prepare<[], { n: number; oldest: number | null }>('SELECT COUNT(*) AS n, MIN(created) AS oldest FROM outbox'),
    };
  }

  /** Adds an event; the caller runs it inside the transaction of the write it reports (and guards it). */
  add(e: OutboxEvent): void {
    this.s.insert.run(e.id, e.group, e.value, e.createdAt);
  }

  /** A head is free when its lease ran out, or when the process holding it no longer exists. */
  private free(row: OutboxRow, now: number): boolean {
    return row.lease_until <= now || (row.lease !== null && holderIsGone(row.lease));
  }

  async claim(max: number, leaseMs: number): Promise<ClaimedEvent[]> {
    const now = this.now();
    // IMMEDIATE: the write lock is taken before the read, so two processes never lease one head.
    const claim = this.db.transaction(() =>
      this.s.dueHeads
        .all(now)
        .filter((row) => this.free(row, now))
        .slice(0, max)
        .map((row) => {
          const lease = randomBytes(12).toString('hex') + holderSuffix;
          this.s.lease.run(lease, now + leaseMs, row.seq);
          return { id: row.id, group: row.grp, value: row.data, createdAt: row.created, attempts: row.attempts, lease };
        }),
    );
    return guard(() => claim.immediate());
  }

  async done(id: string, lease: string): Promise<void> {
    guard(() => this.s.done.run(id, lease));
  }

  async retry(id: string, lease: string, nextAttemptAt: number): Promise<void> {
    guard(() => this.s.retry.run(nextAttemptAt, id, lease));
  }

  async stats(): Promise<{ pending: number; oldestCreatedAt?: number }> {
    const row = guard(() => this.s.stats.get());
    return { pending: row?.n ?? 0, oldestCreatedAt: row?.oldest ?? undefined };
  }
}

export class SqliteAuthStore implements AuthStore {
  private readonly s;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
    readonly outbox: SqliteOutbox = new SqliteOutbox(db, now),
  ) {
    this.s = {
      txInsert: db.prepare('INSERT OR REPLACE INTO login_tx (owner, id, data, created, expires) VALUES (?, ?, ?, ?, ?)'),
      txTrim: db.prepare(
        'DELETE FROM login_tx WHERE owner = ? AND (expires <= ? OR rowid NOT IN (SELECT rowid FROM login_tx WHERE owner = ? AND expires > ? ORDER BY created DESC, rowid DESC LIMIT ?))',
      ),
      txTake: db.prepare<[string, string, number], { data: string }>('DELETE FROM login_tx WHERE owner = ? AND id = ? AND expires > ? RETURNING data'),
      txTakeAll: db.prepare<[string], { id: string; data: string; expires: number }>('DELETE FROM login_tx WHERE owner = ? RETURNING id, data, expires'),
      txCount: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM login_tx WHERE owner = ? AND expires > ?'),
      connGet: db.prepare<[string, string, number], { data: string }>('SELECT data FROM connections WHERE owner = ? AND provider = ? AND expires > ?'),
      connPut: db.prepare(
        'INSERT INTO connections (owner, provider, data, expires) VALUES (?, ?, ?, ?) ON CONFLICT(owner, provider) DO UPDATE SET data = excluded.data, expires = excluded.expires',
      ),
      connReplace: db.prepare('UPDATE connections SET data = ?, expires = ? WHERE owner = ? AND provider = ? AND expires > ?'),
      connReplaceIf: db.prepare('UPDATE connections SET data = ?, expires = ? WHERE owner = ? AND provider = ? AND expires > ? AND data = ?'),
      connDelete: db.prepare<[string, string], { expires: number }>('DELETE FROM connections WHERE owner = ? AND provider = ? RETURNING expires'),
      connDeleteIf: db.prepare<[string, string, string], { expires: number }>(
        'DELETE FROM connections WHERE owner = ? AND provider = ? AND data = ? RETURNING expires',
      ),
      connCount: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM connections WHERE provider = ? AND expires > ?'),
      markTake: db.prepare('INSERT INTO marks (key, expires) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET expires = excluded.expires WHERE marks.expires <= ?'),
      markGet: db.prepare<[string, number], { one: number }>('SELECT 1 AS one FROM marks WHERE key = ? AND expires > ?'),
      indexPut: db.prepare(
        'INSERT INTO logout_index (key, member, expires) VALUES (?, ?, ?) ON CONFLICT(key, member) DO UPDATE SET expires = excluded.expires',
      ),
      indexTrim: db.prepare(
        'DELETE FROM logout_index WHERE key = ? AND (expires <= ? OR rowid NOT IN (SELECT rowid FROM logout_index WHERE key = ? AND expires > ? ORDER BY expires DESC, rowid DESC LIMIT ?))',
      ),
      indexGet: db.prepare<[string, number], { member: string }>('SELECT member FROM logout_index WHERE key = ? AND expires > ?'),
      indexDelete: db.prepare('DELETE FROM logout_index WHERE key = ? AND member = ?'),
      tombstonePut: db.prepare(
        'INSERT INTO logout_tombstones (key, at, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET at = CASE WHEN expires > ? THEN MAX(at, excluded.at) ELSE excluded.at END, expires = MAX(expires, excluded.expires)',
      ),
      tombstoneGet: db.prepare<[string, number], { at: number }>('SELECT at FROM logout_tombstones WHERE key = ? AND expires > ?'),
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

  async putConnection(owner: string, provider: string, value: string, ttlMs: number, event?: OutboxEvent): Promise<void> {
    const expires = this.now() + ttlMs;
    this.withEvent(() => {
      this.s.connPut.run(owner, provider, value, expires);
      return true;
    }, event);
  }

  async replaceConnection(owner: string, provider: string, value: string, ttlMs: number, expected?: string, event?: OutboxEvent): Promise<boolean> {
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
    const del = () => (expected === undefined ? this.s.connDelete.get(owner, provider) : this.s.connDeleteIf.get(owner, provider, expected));
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
      return !!held && holderIsGone(held.token) && this.s.lockSteal.run(token, now + ttlMs, key, held.token).changes === 1;
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

/** Deletes expired rows everywhere (outbox events never expire) and returns freed pages to the file system. */
export function sweepExpired(db: Db, now: number): number {
  let removed = 0;
  for (const table of ['sessions', 'login_tx', 'connections', 'locks', 'marks', 'logout_index', 'logout_tombstones']) {
    removed += db.prepare(`DELETE FROM ${table} WHERE expires <= ?`).run(now).changes;
  }
  db.pragma('incremental_vacuum');
  return removed;
}

export interface SqliteStores extends Stores {
  kind: 'sqlite';
  /** The open database (for maintenance, benchmarks and tests). */
  db: Db;
}

export function createSqliteStores(opts: {
  dataDir: string;
  ttlMs: number;
  sweepEveryMs?: number;
  now?: () => number;
  onSweepError?: (err: unknown) => void;
}): SqliteStores {
  const db = openDatabase(opts.dataDir);
  const now = opts.now ?? Date.now;
  const timer = setInterval(
    () => {
      try {
        sweepExpired(db, now());
      } catch (err) {
        opts.onSweepError?.(err);
      }
    },
    opts.sweepEveryMs ?? 10 * 60_000,
  );
  timer.unref();
  const authState = new SqliteAuthStore(db, now);
  return {
    kind: 'sqlite',
    db,
    sessions: new SqliteSessionStore(db, opts.ttlMs, now),
    authState,
    outbox: authState.outbox,
    async close() {
      clearInterval(timer);
      if (db.open) db.close();
    },
  };
}

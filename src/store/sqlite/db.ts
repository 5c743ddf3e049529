/**
 * The default store: one SQLite file under DATA_DIR (better-sqlite3, WAL mode).
 * It survives restarts; expired rows are swept on a schedule and the freed pages are
 * handed back to the file system (auto_vacuum = INCREMENTAL), so the file does not grow without bound.
 * The lock table makes refresh coordination correct even for several processes sharing one file.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type session from 'express-session';
import { AppError } from '../../errors.js';

export type SessionData = session.SessionData;
export type Db = Database.Database;

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
CREATE TABLE IF NOT EXISTS outbox_dead (id TEXT PRIMARY KEY, grp TEXT NOT NULL, data TEXT NOT NULL, created INTEGER NOT NULL, attempts INTEGER NOT NULL, died INTEGER NOT NULL, expires INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_dead_died ON outbox_dead(died);
CREATE INDEX IF NOT EXISTS outbox_dead_expires ON outbox_dead(expires);
CREATE TABLE IF NOT EXISTS webhook_log (k TEXT PRIMARY KEY, status TEXT NOT NULL, data TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS logout_index (key TEXT NOT NULL, member TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (key, member));
CREATE INDEX IF NOT EXISTS logout_index_expires ON logout_index(expires);
CREATE TABLE IF NOT EXISTS logout_tombstones (key TEXT PRIMARY KEY, at INTEGER NOT NULL, expires INTEGER NOT NULL);
`;

/**
 * Adds a column to a table made by an older version. Two processes opening an old file at once
 * may both try to add it: the loser's error is ignored once the column is there.
 */
function addColumn(db: Db, table: string, column: string, decl: string): boolean {
  const has = () =>
    (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
  if (has()) return false;
  try {
    db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl}`);
    return true;
  } catch (err) {
    if (!has()) throw err;
    return false;
  }
}

/**
 * Marks the first pending event of every group as its head (`head = 1`), the only ones a claim
 * reads (outbox.ts). Run when the column is added, and by each sweep: an event written by an
 * older version sharing the file during an upgrade (with `head` 0) is then claimable at the next
 * sweep at the latest.
 */
export function markOutboxHeads(db: Db): number {
  return db
    .prepare('UPDATE outbox SET head = 1 WHERE head = 0 AND seq IN (SELECT MIN(seq) FROM outbox GROUP BY grp)')
    .run().changes;
}

/**
 * Columns added after the first release:
 *  - the expiry index (ConnectionStore.dueConnections): a `due` column on connections (rows of an
 *    older file start unindexed: the keeper's backfill indexes them once, see
 *    session/connections/keeper.ts), and a partial index on it, so a pass reads only the due rows;
 *  - replays: an outbox event's first creation time (`first_created`, set on a replayed one), and
 *    which kept events (outbox_dead) were delivered rather than given up (`state`), found by
 *    their first creation time;
 *  - the outbox's heads (`head`, with a partial index): a claim reads only the first pending
 *    event of each group, not every group's (which made a backlog of 100,000 drain at 9 a second);
 *    and the delivery log's expiry, indexed, so trimming it does not read the whole log.
 */
function migrate(db: Db): void {
  addColumn(db, 'connections', 'due', 'INTEGER');
  db.exec('CREATE INDEX IF NOT EXISTS connections_due ON connections(due, owner, provider) WHERE due IS NOT NULL');
  addColumn(db, 'outbox', 'first_created', 'INTEGER');
  if (addColumn(db, 'outbox', 'head', 'INTEGER NOT NULL DEFAULT 0')) markOutboxHeads(db);
  db.exec('CREATE INDEX IF NOT EXISTS outbox_heads ON outbox(due, seq) WHERE head = 1');
  db.exec('CREATE INDEX IF NOT EXISTS webhook_log_expires ON webhook_log(expires)');
  addColumn(db, 'outbox_dead', 'state', "TEXT NOT NULL DEFAULT 'dead'");
  db.exec('CREATE INDEX IF NOT EXISTS outbox_dead_created ON outbox_dead(created)');
}

/** Every database failure becomes a 503 the person can retry; the SQLite message stays in the log only. */
export function guard<T>(fn: () => T): T {
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
/** The session database's file name in DATA_DIR. */
export const SQLITE_FILE = 'xt-connect.sqlite';

export function openDatabase(dataDir: string, file = SQLITE_FILE): Db {
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (err) {
    throw new Error(
      `DATA_DIR ${dataDir} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}); sessions cannot be stored`,
    );
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
    migrate(db);
    // Prove now, not at the first login, that we can write.
    db.prepare('INSERT OR REPLACE INTO locks (key, token, expires) VALUES (?, ?, 0)').run('startup-write-check', 'x');
    db.prepare('DELETE FROM locks WHERE key = ?').run('startup-write-check');
    return db;
  } catch (err) {
    db?.close();
    const code = (err as { code?: unknown }).code;
    throw new Error(
      `cannot use the session database in ${dataDir} (${typeof code === 'string' ? code : (err as Error).message})`,
    );
  }
}

/** Deletes expired rows everywhere (pending outbox events never expire; dead letters do) and returns freed pages to the file system. */
export function sweepExpired(db: Db, now: number): number {
  let removed = 0;
  for (const table of [
    'sessions',
    'login_tx',
    'connections',
    'locks',
    'marks',
    'logout_index',
    'logout_tombstones',
    'outbox_dead',
    'webhook_log',
  ]) {
    removed += db.prepare(`DELETE FROM ${table} WHERE expires <= ?`).run(now).changes;
  }
  markOutboxHeads(db);
  db.pragma('incremental_vacuum');
  return removed;
}

/**
 * The default store: one SQLite file under DATA_DIR (better-sqlite3, WAL mode).
 * It survives restarts; expired rows are swept on a schedule and the freed pages are
 * handed back to the file system (auto_vacuum = INCREMENTAL), so the file does not grow without bound.
 * The lock table makes refresh coordination correct even for several processes sharing one file.
 */
import type { Stores } from '../types.js';
import { SqliteAuthStore } from './authStore.js';
import { type Db, openDatabase, sweepExpired } from './db.js';
import { SqliteSessionStore } from './sessions.js';

export { openDatabase, sweepExpired } from './db.js';
export { SqliteAuthStore } from './authStore.js';
export { SqliteOutbox } from './outbox.js';
export { SqliteSessionStore } from './sessions.js';

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

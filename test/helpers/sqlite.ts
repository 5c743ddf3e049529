/** Reading the app's SQLite file under DATA_DIR from a test, as the store left it. */
import path from 'node:path';
import Database from 'better-sqlite3';

/** The rows `sql` selects from the database in `dataDir`. */
export function sqliteRows<T>(dataDir: string, sql: string, ...args: unknown[]): T[] {
  const db = new Database(path.join(dataDir, 'xt-connect.sqlite'));
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

/**
 * The SQL of the SQLite auth store (authStore.ts), prepared once per database: one group for each
 * kind of row it keeps, on the tables of db.ts's schema.
 */
import type { Db } from './db.js';

/** Login transactions: a person's pending logins, the newest `max` kept per owner, each taken once. */
function transactionStatements(db: Db) {
  return {
    txInsert: db.prepare('INSERT OR REPLACE INTO login_tx (owner, id, data, created, expires) VALUES (?, ?, ?, ?, ?)'),
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
  };
}

/** Connections: one sealed record per owner and provider; a replace or a delete may be compare-and-set. */
function connectionStatements(db: Db) {
  return {
    connGet: db.prepare<[string, string, number], { data: string }>(
      'SELECT data FROM connections WHERE owner = ? AND provider = ? AND expires > ?',
    ),
    connPut: db.prepare(
      'INSERT INTO connections (owner, provider, data, expires, due) VALUES (?, ?, ?, ?, ?) ON CONFLICT(owner, provider) DO UPDATE SET data = excluded.data, expires = excluded.expires, due = CASE WHEN ? THEN connections.due ELSE excluded.due END',
    ),
    connReplace: db.prepare(
      'UPDATE connections SET data = ?, expires = ?, due = CASE WHEN ? THEN due ELSE ? END WHERE owner = ? AND provider = ? AND expires > ?',
    ),
    connReplaceIf: db.prepare(
      'UPDATE connections SET data = ?, expires = ?, due = CASE WHEN ? THEN due ELSE ? END WHERE owner = ? AND provider = ? AND expires > ? AND data = ?',
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
    // A range on the primary key (owner, provider): SQLite walks its index from the start key on.
    connDue: db.prepare<
      [number, number, string, string, number, number],
      { owner: string; provider: string; data: string; due: number }
    >(
      'SELECT owner, provider, data, due FROM connections WHERE due IS NOT NULL AND due < ? AND (due, owner, provider) > (?, ?, ?) AND expires > ? ORDER BY due, owner, provider LIMIT ?',
    ),
    connPage: db.prepare<[string, string, string, number, number], { owner: string; provider: string; data: string }>(
      'SELECT owner, provider, data FROM connections WHERE (owner, provider) > (?, ?) AND owner < ? AND expires > ? ORDER BY owner, provider LIMIT ?',
    ),
  };
}

/** Marks: a key taken once until it expires, and read. */
function markStatements(db: Db) {
  return {
    markTake: db.prepare(
      'INSERT INTO marks (key, expires) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET expires = excluded.expires WHERE marks.expires <= ?',
    ),
    markGet: db.prepare<[string, number], { one: number }>('SELECT 1 AS one FROM marks WHERE key = ? AND expires > ?'),
  };
}

/** Back-channel logout: the index (a key's members, the newest kept) and its tombstones (the latest logout time per key). */
function logoutStatements(db: Db) {
  return {
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
  };
}

/** Refresh locks: a lease per key, held under its holder's token. */
function lockStatements(db: Db) {
  return {
    lockTake: db.prepare(
      'INSERT INTO locks (key, token, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET token = excluded.token, expires = excluded.expires WHERE locks.expires <= ?',
    ),
    lockRelease: db.prepare('DELETE FROM locks WHERE key = ? AND token = ?'),
    lockExtend: db.prepare('UPDATE locks SET expires = ? WHERE key = ? AND token = ? AND expires > ?'),
    lockHolder: db.prepare<[string], { token: string }>('SELECT token FROM locks WHERE key = ?'),
    lockSteal: db.prepare('UPDATE locks SET token = ?, expires = ? WHERE key = ? AND token = ?'),
  };
}

/** Every statement of the auth store, by name. */
export function prepareAuthStatements(db: Db) {
  return {
    ...transactionStatements(db),
    ...connectionStatements(db),
    ...markStatements(db),
    ...logoutStatements(db),
    ...lockStatements(db),
  };
}

export type AuthStatements = ReturnType<typeof prepareAuthStatements>;

/** express-session's store in the sessions table. */
import session from 'express-session';
import { type Db, type SessionData, guard } from './db.js';

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

// The SQLite session store the bench's Express baselines share: the minimal one such an app would
// write (get, set, touch, destroy) on better-sqlite3 (prepared statements, WAL, synchronous=NORMAL;
// the app's `sessions` table), so the baselines depend on nothing of ours.
import Database from 'better-sqlite3';
import session from 'express-session';

export const TTL = 14 * 86_400_000;

export class SqliteStore extends session.Store {
  constructor(file) {
    super();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS sessions (sid TEXT PRIMARY KEY, data TEXT NOT NULL, expires INTEGER NOT NULL)');
    this.q = {
      get: db.prepare('SELECT data FROM sessions WHERE sid = ? AND expires > ?'),
      set: db.prepare(
        'INSERT INTO sessions (sid, data, expires) VALUES (?, ?, ?) ON CONFLICT(sid) DO UPDATE SET data = excluded.data, expires = excluded.expires',
      ),
      touch: db.prepare('UPDATE sessions SET expires = ? WHERE sid = ?'),
      destroy: db.prepare('DELETE FROM sessions WHERE sid = ?'),
    };
  }
  expiry(sess) {
    return sess.cookie?.expires ? new Date(sess.cookie.expires).getTime() : Date.now() + TTL;
  }
  get(sid, cb) {
    const row = this.q.get.get(sid, Date.now());
    cb(null, row ? JSON.parse(row.data) : null);
  }
  set(sid, sess, cb) {
    this.q.set.run(sid, JSON.stringify(sess), this.expiry(sess));
    cb?.();
  }
  touch(sid, sess, cb) {
    this.q.touch.run(this.expiry(sess), sid);
    cb?.();
  }
  destroy(sid, cb) {
    this.q.destroy.run(sid);
    cb?.();
  }
}

/** `GET /login` (creates a 1.5 kB session, sets the cookie) and `GET /api/session` (reads it, answers a little JSON). */
export function sessionRoutes(app) {
  app.get('/login', (req, res) => {
    req.session.bench = { userId: '12345678', payload: 'x'.repeat(1400) };
    res.json({ ok: true });
  });
  app.get('/api/session', (req, res) => {
    const b = req.session.bench;
    if (!b) return void res.status(401).json({ connected: false });
    res.json({ connected: true, provider: 'xt', userId: b.userId });
  });
}

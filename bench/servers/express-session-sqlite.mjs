// THE baseline: Express 5 + express-session with a SQLite store on better-sqlite3 (prepared
// statements, WAL, synchronous=NORMAL; the app's `sessions` table), holding a 1.5 kB session.
// `GET /login` creates the session (and sets the cookie); `GET /api/session` reads it and answers a
// little JSON. The store is the minimal one such an app would write (get, set, touch, destroy), so
// the baseline depends on nothing of ours.
// `node bench/servers/express-session-sqlite.mjs <port> <dataDir>`
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import express from 'express';
import session from 'express-session';

const TTL = 14 * 86_400_000;

class SqliteStore extends session.Store {
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

const dataDir = process.argv[3] ?? './data-bench-baseline';
fs.mkdirSync(dataDir, { recursive: true });
const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
app.use(
  session({
    name: 'sid',
    secret: 'bench-baseline-session-secret-0123456789',
    store: new SqliteStore(path.join(dataDir, 'baseline.sqlite')),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', maxAge: TTL },
  }),
);
app.get('/login', (req, res) => {
  req.session.bench = { userId: '12345678', payload: 'x'.repeat(1400) };
  res.json({ ok: true });
});
app.get('/api/session', (req, res) => {
  const b = req.session.bench;
  if (!b) return void res.status(401).json({ connected: false });
  res.json({ connected: true, provider: 'xt', userId: b.userId });
});
const server = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () =>
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));

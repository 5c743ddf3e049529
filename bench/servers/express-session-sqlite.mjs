// THE baseline: Express 5 + express-session with a SQLite store on better-sqlite3 (the app's own
// SqliteSessionStore from dist/: prepared statements, WAL), holding a 1.5 kB session. `GET /login`
// creates the session (and sets the cookie); `GET /api/session` reads it and answers a little JSON.
// `node bench/servers/express-session-sqlite.mjs <port> <dataDir>` (after `npm run build`).
import express from 'express';
import session from 'express-session';
import { SqliteSessionStore, openDatabase } from '../../dist/src/session/stores/sqlite.js';

const TTL = 14 * 86_400_000;
const db = openDatabase(process.argv[3] ?? './data-bench-baseline', 'baseline.sqlite');
const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
app.use(
  session({
    name: 'sid',
    secret: 'bench-baseline-session-secret-0123456789',
    store: new SqliteSessionStore(db, TTL),
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
const server = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));

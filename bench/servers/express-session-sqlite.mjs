// The old baseline (before issue 28): Express 5 + express-session with the shared SQLite store
// (./sqlite-session-store.mjs), holding a 1.5 kB session, no security headers.
// `GET /login` creates the session (and sets the cookie); `GET /api/session` reads it and answers a
// little JSON. `node bench/servers/express-session-sqlite.mjs <port> <dataDir>`
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import { SqliteStore, TTL, sessionRoutes } from './sqlite-session-store.mjs';

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
sessionRoutes(app);
const server = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () =>
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));

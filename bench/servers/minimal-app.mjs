// THE baseline (issue 28): the design card's minimal app. Express 5, `helmet()` with its defaults,
// express-session on the same SQLite store as the old baseline (./sqlite-session-store.mjs), or, given
// a redis:// URL instead of a data directory, on connect-redis (node-redis client) against that server.
// Same routes and answers as the old baseline: `GET /login`, `GET /api/session`, `GET /healthz`.
// `node bench/servers/minimal-app.mjs <port> <dataDir | redis://127.0.0.1:port>`
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { SqliteStore, TTL, sessionRoutes } from './sqlite-session-store.mjs';

async function store(where) {
  if (where.startsWith('redis://')) {
    const [{ createClient }, { RedisStore }] = await Promise.all([import('redis'), import('connect-redis')]);
    const client = createClient({ url: where });
    client.on('error', (err) => process.stderr.write(`redis: ${err.message}\n`));
    await client.connect();
    return new RedisStore({ client, prefix: 'bench-minimal:' });
  }
  fs.mkdirSync(where, { recursive: true });
  return new SqliteStore(path.join(where, 'minimal.sqlite'));
}

const app = express();
app.disable('x-powered-by');
app.use(helmet());
app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
app.use(
  session({
    name: 'sid',
    secret: 'bench-minimal-session-secret-0123456789',
    store: await store(process.argv[3] ?? './data-bench-minimal'),
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

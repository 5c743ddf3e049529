// Baseline: Express 5 alone, answering the same JSON. `node bench/servers/express-bare.mjs <port>`.
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
app.get('/api/session', (_req, res) => void res.json({ connected: true, provider: 'xt', userId: '12345678' }));
const server = app.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () =>
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));

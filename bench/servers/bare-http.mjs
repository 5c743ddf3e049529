// Baseline: bare node:http answering a small JSON body. `node bench/servers/bare-http.mjs <port>`;
// prints `READY <url>`; GET /healthz and GET /api/session answer 200. Plain JavaScript, so that
// cold starts compare like with like (the app runs from dist/).
import http from 'node:http';

const body = JSON.stringify({ connected: true, provider: 'xt', userId: '12345678' });
const server = http.createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/api/session') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () =>
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));

// A collector stand-in for the traced variant of bench:http: takes OTLP/HTTP bodies at
// POST /v1/traces, counts the spans' bytes and throws them away. `node bench/servers/otlp-sink.mjs <port>`;
// prints `READY <url>`; GET /healthz answers 200 with the bytes and requests received so far.
import http from 'node:http';

let bytes = 0;
let requests = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes, requests }));
    return;
  }
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () =>
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`),
);
process.once('SIGTERM', () => server.close(() => process.exit(0)));

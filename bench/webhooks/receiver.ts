/**
 * The institution's webhook endpoint for the throughput benchmark, as its own process:
 * `tsx bench/webhooks/receiver.ts` with WEBHOOK_SECRET. Prints `READY <url>`.
 *
 * Like test/helpers/webhookReceiver.ts it verifies every request with the Standard Webhooks
 * library's own verifier and answers 204, but it keeps only what the benchmark reports (that helper
 * keeps every body and scans them all per request, which is quadratic at 100,000 events): per event
 * type, the ids seen (duplicates), the first and last arrival, and each event's time from its
 * `timestamp` (the store write) to arrival. GET /stats?type=… answers them; POST /reset forgets them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

interface TypeStats {
  ids: Set<string>;
  duplicates: number;
  firstAt: number;
  lastAt: number;
  latencies: number[];
}

const verifier = new Webhook(process.env.WEBHOOK_SECRET ?? '');
let byType = new Map<string, TypeStats>();
let badSignatures = 0;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

function stats(type: string) {
  const s = byType.get(type);
  if (!s) return { type, unique: 0, duplicates: 0, badSignatures };
  const l = [...s.latencies].sort((a, b) => a - b);
  return {
    type,
    unique: s.ids.size,
    duplicates: s.duplicates,
    badSignatures,
    firstAt: s.firstAt,
    lastAt: s.lastAt,
    p50: pct(l, 50),
    p99: pct(l, 99),
    max: l[l.length - 1],
  };
}

function arrived(raw: string, headers: http.IncomingHttpHeaders): number {
  const at = Date.now();
  try {
    verifier.verify(raw, headers as Record<string, string>);
  } catch {
    badSignatures++;
    return 400;
  }
  const body = JSON.parse(raw) as { type: string; timestamp: string };
  let s = byType.get(body.type);
  if (!s) byType.set(body.type, (s = { ids: new Set(), duplicates: 0, firstAt: at, lastAt: at, latencies: [] }));
  const id = String(headers['webhook-id']);
  if (s.ids.has(id)) s.duplicates++;
  s.ids.add(id);
  s.lastAt = at;
  s.latencies.push(at - Date.parse(body.timestamp));
  return 204;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'GET' && url.pathname === '/stats') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(stats(url.searchParams.get('type') ?? '')));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/reset') {
    byType = new Map();
    badSignatures = 0;
    res.writeHead(204).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const status = arrived(Buffer.concat(chunks).toString('utf8'), req.headers);
    res.writeHead(status, { 'content-type': 'text/plain' }).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));

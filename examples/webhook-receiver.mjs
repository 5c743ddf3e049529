// A complete webhook receiver for xt-connect's connection events (Standard Webhooks).
//
//   WEBHOOK_SECRET=whsec_… node examples/webhook-receiver.mjs
//
// It listens on 127.0.0.1:8787 (PORT to change it), verifies each POST /hook with the
// `standardwebhooks` package (signature and timestamp), ignores a duplicate `webhook-id`,
// prints the event and answers 204. Anything else gets 400 or 404. Only node:http and
// standardwebhooks, so it runs from this repository as it is.
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const secret = process.env.WEBHOOK_SECRET;
if (!secret?.startsWith('whsec_')) {
  console.error('Set WEBHOOK_SECRET to the same whsec_… value as xt-connect.');
  process.exit(1);
}
const wh = new Webhook(secret);
const port = Number(process.env.PORT ?? 8787);
const seen = new Set(); // webhook-id values already handled (keep them in your database in real life)
const LIMIT = 64 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > LIMIT) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url !== '/hook') return res.writeHead(404).end();
  let event;
  try {
    const body = await readBody(req);
    event = wh.verify(body, req.headers); // throws on a bad signature or a stale timestamp
  } catch (err) {
    console.error(`refused: ${err.message}`);
    return res.writeHead(400).end();
  }
  const id = req.headers['webhook-id'];
  if (!seen.has(id)) {
    seen.add(id);
    // Your work goes here: event.type is connection.created or connection.ended;
    // event.data holds subject (your user id, or null), provider, userId, scope and reason.
    console.log(JSON.stringify({ id, type: event.type, ...event.data }));
  }
  res.writeHead(204).end();
});

server.listen(port, '127.0.0.1', () => console.log(`webhook receiver on http://127.0.0.1:${port}/hook`));
process.once('SIGINT', () => server.close(() => process.exit(0)));
process.once('SIGTERM', () => server.close(() => process.exit(0)));

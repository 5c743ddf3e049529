// A tiny institution's backend on xt-connect, with @xt-connect/client: one page for its signed-in
// user that mints a link, shows the person's XT.COM connection and balances, and lists the webhooks
// it received. Only node:http and the client package.
//
//   npm run example        (starts xt-connect's demo and this, already configured for each other)
//
// or by hand, against an xt-connect whose EMBED_ORIGINS holds this page's origin and whose
// WEBHOOK_URL is this server's /webhooks:
//
//   XT_CONNECT_URL=http://localhost:3000 SERVICE_KEY=… LINK_SECRET=… WEBHOOK_SECRET=whsec_… \
//     node examples/institution/server.mjs
import fs from 'node:fs';
import http from 'node:http';
import { XtConnect, XtConnectError } from '@xt-connect/client';

const env = process.env;
const missing = ['XT_CONNECT_URL', 'SERVICE_KEY', 'LINK_SECRET', 'WEBHOOK_SECRET'].filter((k) => !env[k]);
if (missing.length > 0) {
  console.error(`Set ${missing.join(', ')} (npm run example sets them all).`);
  process.exit(1);
}
const xc = new XtConnect({
  baseUrl: env.XT_CONNECT_URL,
  serviceKey: env.SERVICE_KEY,
  linkSecret: env.LINK_SECRET,
  webhookSecret: env.WEBHOOK_SECRET,
});
const XT_CONNECT = new URL(env.XT_CONNECT_URL).origin;
const PORT = Number(env.EXAMPLE_PORT ?? 5000);
const HOST = env.EXAMPLE_HOST ?? '127.0.0.1';
// This site's own origin, as browsers see it (and as xt-connect's EMBED_ORIGINS lists it).
const ORIGIN = new URL(env.EXAMPLE_ORIGIN ?? `http://localhost:${PORT}`).origin;

// The institution's own signed-in user. A real site takes it from its session.
const USER = { id: 'alice', name: 'Alice' };
// The webhooks received, newest first (a real site keeps them in its database, keyed by webhook-id).
const received = [];
const seen = new Set();

const esc = (s) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
const STATIC = {
  '/app.js': ['text/javascript; charset=utf-8', fs.readFileSync(new URL('public/app.js', import.meta.url))],
  '/style.css': ['text/css; charset=utf-8', fs.readFileSync(new URL('public/style.css', import.meta.url))],
};

/** The person's connection and, when connected, their balances; an error is shown, never thrown. */
async function connection() {
  try {
    const c = await xc.connections.get(USER.id);
    const xt = c.providers.xt;
    if (!xt?.connected) return { xt };
    const balances = await xc.xt.get(USER.id, '/spot/v4/balances', { query: { currencies: 'usdt,btc,eth' } });
    return { xt, assets: balances.result?.assets ?? [] };
  } catch (err) {
    if (err instanceof XtConnectError) return { error: `${err.code} (${err.status})` };
    throw err;
  }
}

function connectionHtml({ xt, assets, error }) {
  if (error) return `<p class="error" role="alert">xt-connect answered: ${esc(error)}. Reload to try again.</p>`;
  if (!xt?.connected) {
    const why = xt?.reason && xt.reason !== 'not_connected' ? ` (${esc(xt.reason)})` : '';
    // The link is minted on the click (POST /link), never written into the page: a link for a user
    // who is already connected hands that user's connection to whoever opens it.
    return `<p id="state">Not connected${why}.</p>
      <xt-connect-button link-endpoint="/link">Connect XT.COM</xt-connect-button>
      <form method="post" action="/link" class="small">No popup?
        <button type="submit" class="plain">Connect in this window</button> instead.</form>`;
  }
  const rows = assets
    .map(
      (a) =>
        `<tr><td>${esc(a.currency.toUpperCase())}</td><td>${esc(a.availableAmount)}</td><td>${esc(a.frozenAmount)}</td></tr>`,
    )
    .join('');
  return `<p id="state">Connected as XT.COM user <strong>${esc(xt.userId)}</strong>.</p>
    <table><caption>Balances at XT.COM</caption>
      <thead><tr><th scope="col">Currency</th><th scope="col">Available</th><th scope="col">Frozen</th></tr></thead>
      <tbody>${rows}</tbody></table>
    <form method="post" action="/disconnect"><button type="submit">Disconnect XT.COM</button></form>`;
}

function webhooksHtml() {
  const mine = received.filter((e) => e.data.subject === USER.id); // this user's only
  if (mine.length === 0) return '<p>None yet.</p>';
  const items = mine.map(
    (e) =>
      `<li><code>${esc(e.type)}</code> for ${esc(e.data.subject)}${e.data.reason ? ` (${esc(e.data.reason)})` : ''}, ${esc(e.timestamp)}</li>`,
  );
  return `<ul id="webhooks">${items.join('')}</ul>`;
}

async function page(res) {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Example Institution</title>
<link rel="stylesheet" href="/style.css"></head>
<body data-xt-connect="${esc(XT_CONNECT)}"><main>
<h1>Example Institution</h1><p>Signed in as ${esc(USER.name)} (your user id here: <code>${esc(USER.id)}</code>).</p>
<section aria-labelledby="xt"><h2 id="xt">Your XT.COM account</h2>${connectionHtml(await connection())}
<p id="notice" role="status"></p></section>
<section aria-labelledby="wh"><h2 id="wh">Webhooks received</h2>${webhooksHtml()}</section>
</main><script type="module" src="/app.js"></script></body></html>`;
  send(res, 200, 'text/html; charset=utf-8', body);
}

function send(res, status, type, body) {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'Content-Security-Policy': `default-src 'self'; script-src 'self' ${XT_CONNECT}; connect-src 'self' ${XT_CONNECT}; base-uri 'none'; frame-ancestors 'none'`,
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** POST /webhooks: verified (signature and timestamp), each webhook-id handled once, answered 204. */
async function webhook(req, res) {
  let event;
  try {
    event = xc.webhooks.verify(req.headers, await readBody(req));
  } catch (err) {
    console.error(`webhook refused: ${err.message}`);
    return send(res, 400, 'text/plain', 'bad webhook');
  }
  const id = String(req.headers['webhook-id']);
  if (!seen.has(id)) {
    seen.add(id);
    received.unshift(event);
    received.length = Math.min(received.length, 20);
    console.log(`webhook ${event.type} for ${event.data.subject}`);
  }
  send(res, 204, 'text/plain', '');
}

/**
 * A POST from this site's own pages only (CSRF): the browser's Origin must be this site's configured
 * origin, never one derived from the request (a DNS-rebinding page controls Host and Origin alike).
 * A real site also checks its session here, and mints links for its signed-in user only.
 */
const fromOwnPage = (req) => req.headers.origin === ORIGIN;

/**
 * POST /link: a fresh link for the signed-in user, valid once and for a minute. The button fetches
 * it as JSON (link-endpoint); the no-popup form is sent straight to the login.
 */
async function link(req, res) {
  // Back to this page afterwards: xt-connect allows it as this origin is in its EMBED_ORIGINS.
  const url = await xc.mintLinkUrl({ sub: USER.id, returnTo: `${ORIGIN}/` });
  if ((req.headers.accept ?? '').includes('application/json'))
    return send(res, 200, 'application/json', JSON.stringify({ link: new URL(url).searchParams.get('link') }));
  res.writeHead(303, { Location: url, 'Cache-Control': 'no-store' }).end();
}

/** POST /disconnect: ends the connection at xt-connect (and at XT.COM where it can), then back to the page. */
async function disconnect(res) {
  await xc.connections.end(USER.id, 'xt'); // 204 whether or not there was one to end
  res.writeHead(303, { Location: '/' }).end();
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const run = async () => {
    if (req.method === 'GET' && path === '/') return page(res);
    if (req.method === 'GET' && STATIC[path]) return send(res, 200, ...STATIC[path]);
    if (req.method === 'GET' && path === '/favicon.ico') return send(res, 204, 'image/x-icon', ''); // none
    if (req.method === 'POST' && path === '/webhooks') return webhook(req, res);
    if (req.method === 'POST' && (path === '/link' || path === '/disconnect') && !fromOwnPage(req))
      return send(res, 403, 'text/plain', 'cross-site request refused');
    if (req.method === 'POST' && path === '/link') return link(req, res);
    if (req.method === 'POST' && path === '/disconnect') return disconnect(res);
    send(res, 404, 'text/plain', 'not found');
  };
  run().catch((err) => {
    console.error(err instanceof XtConnectError ? `xt-connect: ${err.code} (${err.status})` : err);
    if (!res.headersSent) send(res, 502, 'text/plain', 'xt-connect could not be reached; reload to try again');
  });
});
server.listen(PORT, HOST, () => console.log(`Example Institution: http://localhost:${PORT}/`));
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => server.close(() => process.exit(0)));

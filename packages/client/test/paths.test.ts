/**
 * The request that leaves is the one meant (red-team finding): a subject, provider or XT.COM path
 * holding a `.`/`..` segment in any spelling (`%2e%2e`, `.%2E`, a backslash, a tab) would be
 * resolved by fetch's URL parser and reach another subject or another /v1 route. Checked where it
 * counts: the request line a real loopback server receives, for hand-picked and generated inputs.
 * Every call either throws a TypeError before anything is sent, or arrives exactly as built.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { XtConnect } from '../src/index.js';

let server: http.Server;
let base = '';
const received: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"rc":0,"result":null}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const xc = () => new XtConnect({ baseUrl: base, serviceKey: 'k'.repeat(32), maxRetries: 0 });

/** What reached the server for one call, or 'refused' when the client threw a TypeError first. */
async function sent(call: (c: XtConnect) => Promise<unknown>): Promise<string> {
  const before = received.length;
  try {
    await call(xc());
  } catch (err) {
    if (err instanceof TypeError) {
      expect(received.length).toBe(before); // nothing left
      return 'refused';
    }
    // Another error (the stand-in's answer not fitting a call) is fine: what matters is what was sent.
  }
  expect(received.length).toBe(before + 1);
  return received.at(-1)!.split('?')[0]!;
}

const TRAVERSALS = [
  '/spot/v4/order/../../../../../bob/xt/spot/v4/balances',
  '/spot/v4/order/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/bob/xt/spot/v4/balances',
  '/spot/v4/order/.%2E/.%2E/.%2E/.%2E/.%2E/carol/xt/spot/v4/balances',
  '/spot/v4/order/%2E./x',
  '/spot/v4/order/..\\..\\..\\..\\..\\bob',
  '/spot/v4/order/.\t./.\t./.\t./.\t./.\t./bob',
  '/spot/v4/order/.\n./x',
  '/spot/v4/./balances',
  '/spot/v4/order/..',
  '/spot//v4',
  '/spot/v4/order/%2fbob',
  '/spot/v4/order?x=1',
  '/spot/v4/order#x',
  'spot/v4/balances',
  '',
];

test.each(TRAVERSALS)('xt path %j is refused before anything is sent, for every method', async (path) => {
  for (const m of ['get', 'post', 'delete'] as const) expect(await sent((c) => c.xt[m]('alice', path))).toBe('refused');
});

test('subjects "." and ".." and providers with dots or slashes are refused; a good call arrives exactly as built', async () => {
  for (const sub of ['.', '..', '', 'a/b', 'a%2fb', 'x'.repeat(129), 'ä'])
    expect(await sent((c) => c.connections.get(sub))).toBe('refused');
  for (const provider of ['..', '.', 'x/y', '%2e%2e', ''])
    expect(await sent((c) => c.connections.end('dave', provider))).toBe('refused');
  expect(await sent((c) => c.xt.get('a.b@c', '/spot/v4/order/123'))).toBe(
    'GET /v1/subjects/a.b@c/xt/spot/v4/order/123',
  );
  expect(await sent((c) => c.connections.end('...', 'xt'))).toBe('DELETE /v1/subjects/.../connections/xt');
});

test('property: any subject and XT.COM path either is refused or arrives exactly under /v1/subjects/{sub}/xt', async () => {
  const piece = fc.constantFrom(
    '.',
    '..',
    '%2e',
    '%2E',
    '\\',
    '\t',
    '/',
    'a',
    'v4',
    '~',
    '-',
    '_',
    '%2f',
    ' ',
    '?',
    '#',
  );
  const path = fc.array(piece, { maxLength: 12 }).map((p) => `/${p.join('')}`);
  const sub = fc.oneof(
    fc.constantFrom('.', '..', '...', 'bob', 'a.b'),
    fc.array(piece, { maxLength: 4 }).map((p) => p.join('')),
  );
  await fc.assert(
    fc.asyncProperty(sub, path, fc.constantFrom('get', 'post', 'delete' as const), async (s, p, m) => {
      const got = await sent((c) => c.xt[m](s, p));
      if (got !== 'refused') expect(got).toBe(`${m.toUpperCase()} /v1/subjects/${s}/xt${p}`);
    }),
    { numRuns: 300 },
  );
});

/**
 * The XT.COM stand-in verifies as XT.COM does, whoever signed: raw HTTP requests signed here by
 * hand from XT.COM's formula (not by src/providers/xt/sign.ts). The query is verified DECODED, as
 * a Java/Spring server hands it over (`+` a space, %XX UTF-8), sorted by key and joined with &; the
 * `path` style verifies the third-party page's X (validate-appkey and validate-timestamp only).
 * Then our own client, through the stand-in, with values that read differently encoded and decoded.
 */
import { createHmac } from 'node:crypto';
import type { XtCall } from '../../src/services/xtApi.js';
import { type Harness, TEST_SECRET, startConnectedXt } from '../helpers/harness.js';

let h: Harness | undefined;
let owner = '';
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function connected(style: 'method' | 'path') {
  const c = await startConnectedXt({ env: { XT_SIGN_STYLE: style }, xt: { signStyle: style, assetLimitPerSec: 1000 } });
  ({ h, owner } = c);
  return c;
}

const FOUR = (ts: number) =>
  `validate-algorithms=HmacSHA256&validate-appkey=demo-client&validate-recvwindow=5000&validate-timestamp=${ts}`;
const TWO = (ts: number) => `validate-appkey=demo-client&validate-timestamp=${ts}`;

/** Sends GET /spot/v4/balances?<wire> with a signature over `signed(ts)`; returns XT.COM's mc. */
async function send(hh: Harness, wire: string, signed: (ts: number) => string, drop: string[] = []): Promise<string> {
  const ts = Date.now();
  const headers: Record<string, string> = {
    'access-token': await hh.built.ctx.connections.accessToken(owner, 'xt'),
    'validate-algorithms': 'HmacSHA256',
    'validate-appkey': 'demo-client',
    'validate-recvwindow': '5000',
    'validate-timestamp': String(ts),
    'validate-signature': createHmac('sha256', TEST_SECRET).update(signed(ts), 'utf8').digest('hex'),
  };
  for (const d of drop) delete headers[d];
  const res = await fetch(`${hh.xt.url}/spot/v4/balances?${wire}`, { headers });
  return ((await res.json()) as { mc: string }).mc;
}

describe('method style: the query is verified decoded', () => {
  test.each([
    ['note=a%20b', 'note=a b'],
    ['symbol=A%2FB', 'symbol=A/B'],
    ['x=%C3%A9', 'x=é'],
    ['q=1%2B1', 'q=1+1'],
    ['q=1+1', 'q=1 1'], // a raw + is a space to a servlet container
    ['currencies=usdt,btc&Zeta=%E4%B8%AD&a_b=1', 'Zeta=中&a_b=1&currencies=usdt,btc'], // sorted by code unit
  ])('?%s is verified as %s, and the encoded form is refused with AUTH_103', async (wire, decoded) => {
    const c = await connected('method');
    expect(await send(c.h, wire, (ts) => `${FOUR(ts)}#GET#/spot/v4/balances#${decoded}`)).toBe('SUCCESS');
    if (wire !== decoded)
      expect(await send(c.h, wire, (ts) => `${FOUR(ts)}#GET#/spot/v4/balances#${wire}`)).toBe('AUTH_103');
  });

  test('a query no server can decode is AUTH_103', async () => {
    const c = await connected('method');
    expect(await send(c.h, 'note=%zz', (ts) => `${FOUR(ts)}#GET#/spot/v4/balances#note=%zz`)).toBe('AUTH_103');
  });
});

describe("path style: the third-party page's formula", () => {
  test('X is validate-appkey and validate-timestamp only, Y is #path#query (decoded)', async () => {
    const c = await connected('path');
    expect(await send(c.h, 'note=a%20b', (ts) => `${TWO(ts)}#/spot/v4/balances#note=a b`)).toBe('SUCCESS');
    // All four headers in X (what xt-connect signed before) is not the third-party formula.
    expect(await send(c.h, 'note=a%20b', (ts) => `${FOUR(ts)}#/spot/v4/balances#note=a b`)).toBe('AUTH_103');
    expect(await send(c.h, 'note=a%20b', (ts) => `${TWO(ts)}#GET#/spot/v4/balances#note=a b`)).toBe('AUTH_103');
  });

  test('validate-recvwindow and validate-algorithms are optional there, as the page marks them', async () => {
    const c = await connected('path');
    const two = (ts: number) => `${TWO(ts)}#/spot/v4/balances#currencies=usdt`;
    expect(await send(c.h, 'currencies=usdt', two, ['validate-recvwindow', 'validate-algorithms'])).toBe('SUCCESS');
    expect(await send(c.h, 'currencies=usdt', two, ['validate-signature'])).toBe('AUTH_007');
  });
});

describe('our client against that verifier', () => {
  test.each(['method', 'path'] as const)(
    '%s style: values that read differently encoded and decoded are accepted',
    async (style) => {
      const c = await connected(style);
      const call: XtCall = {
        method: 'GET',
        path: '/spot/v4/balances',
        query: [
          ['currencies', 'usdt,btc'],
          ['note', 'a b/é+1 (x)*~!'],
          ['Zeta', '中'],
        ],
      };
      expect((await c.api.call(owner, call)).status).toBe(200);
      const y = style === 'method' ? '#GET#/spot/v4/balances' : '#/spot/v4/balances';
      const x =
        style === 'method'
          ? /^validate-algorithms=HmacSHA256&validate-appkey=demo-client&validate-recvwindow=5000&validate-timestamp=\d{13}#G/
          : /^validate-appkey=demo-client&validate-timestamp=\d{13}#\//;
      expect(c.h.xt.signedStrings().every((s) => x.test(s))).toBe(true);
      expect(
        c.h.xt.signedStrings().some((s) => s.endsWith(`${y}#Zeta=中&currencies=usdt,btc&note=a b/é+1 (x)*~!`)),
      ).toBe(true);
      expect(c.h.xt.apiLog().map((e) => e.mc)).toEqual(['SUCCESS']);
    },
  );

  test('a value holding &, = or # is refused with a 400 before anything is sent', async () => {
    const c = await connected('method');
    for (const v of ['a&b', 'a=b', 'a#b']) {
      const err = await c.api
        .call(owner, { method: 'GET', path: '/spot/v4/order', query: [['clientOrderId', v]] })
        .then(
          () => undefined,
          (e: unknown) => e as { code: string; status: number },
        );
      expect(err).toMatchObject({ code: 'bad_request', status: 400 });
    }
    expect(c.h.xt.calls.api).toBe(0);
  });
});

/**
 * XT.COM's request signature (src/providers/xtSign.ts), against the worked example of XT.COM's
 * documentation (provider notes, "Calling user APIs with the token"). The HMAC values were
 * computed independently with `openssl dgst -sha256 -hmac`.
 */
import { canonicalQuery, encodeQueryComponent, requestPart, signatureHeaders, signedString } from '../../src/providers/xtSign.js';

const EXAMPLE_BODY = '{"symbol":"XT_USDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","bizType":"SPOT","price":3,"quantity":2}';
const EXAMPLE = {
  method: 'POST',
  path: '/v4/order',
  query: '',
  body: EXAMPLE_BODY,
  appKey: '2063495b-85ec-41b3-a810-be84ceb78751',
  secret: 'example-secret',
  recvWindowMs: 60000,
  timestamp: 1666026215729,
  style: 'method' as const,
};
const EXAMPLE_X =
  'validate-algorithms=HmacSHA256&validate-appkey=2063495b-85ec-41b3-a810-be84ceb78751&validate-recvwindow=60000&validate-timestamp=1666026215729';

describe("XT.COM's worked example", () => {
  test('the method style signs exactly the documented string', () => {
    expect(signedString(EXAMPLE)).toBe(`${EXAMPLE_X}#POST#/v4/order#${EXAMPLE_BODY}`);
  });

  test('the signature is the lowercase hex HMAC-SHA256 of that string', () => {
    expect(signatureHeaders(EXAMPLE)).toEqual({
      'validate-algorithms': 'HmacSHA256',
      'validate-appkey': '2063495b-85ec-41b3-a810-be84ceb78751',
      'validate-recvwindow': '60000',
      'validate-timestamp': '1666026215729',
      'validate-signature': '0cabf41c5180e9ed94c766c0711290e05a8634cca1a8562961336c17212a5eeb',
    });
  });

  test('the path style (the third-party page) drops only the method; all four headers are still signed', () => {
    const style = { ...EXAMPLE, style: 'path' as const };
    expect(signedString(style)).toBe(`${EXAMPLE_X}#/v4/order#${EXAMPLE_BODY}`);
    const h = signatureHeaders(style);
    expect(Object.keys(h).sort()).toEqual(['validate-algorithms', 'validate-appkey', 'validate-recvwindow', 'validate-signature', 'validate-timestamp']);
    expect(h['validate-signature']).toBe('7a210726dd26187354f5219d63b5638ef934753b37ccde9aec69396510adb611');
  });
});

describe('the signed string', () => {
  test('a GET with a query: #GET#path#query, the query as sent', () => {
    const i = {
      ...EXAMPLE,
      method: 'get',
      path: '/spot/v4/balances',
      query: canonicalQuery([['currencies', 'usdt,btc']]),
      body: undefined,
      appKey: 'k',
      secret: 's3cret',
      recvWindowMs: 5000,
      timestamp: 1700000000000,
    };
    expect(signedString(i)).toBe(
      'validate-algorithms=HmacSHA256&validate-appkey=k&validate-recvwindow=5000&validate-timestamp=1700000000000#GET#/spot/v4/balances#currencies=usdt,btc',
    );
    expect(signatureHeaders(i)['validate-signature']).toBe('f70ef849b02d757003c16e768f8150d7a362fc59ef992d2af5e706aa14265953');
  });

  test('no query and no body: nothing after the path; an empty body is no body', () => {
    expect(requestPart({ method: 'DELETE', path: '/spot/v4/order/1', query: '', body: '', style: 'method' })).toBe('#DELETE#/spot/v4/order/1');
    expect(requestPart({ method: 'GET', path: '/spot/v4/open-order', query: '', style: 'path' })).toBe('#/spot/v4/open-order');
  });

  test('the body is signed byte for byte: no reordering, whitespace kept', () => {
    const body = '{ "b":1,\n "a":2 } ';
    expect(signedString({ ...EXAMPLE, body })).toBe(`${EXAMPLE_X}#POST#/v4/order#${body}`);
  });

  test('a different secret, key, timestamp or window changes the signature', () => {
    const base = signatureHeaders(EXAMPLE)['validate-signature'];
    for (const change of [
      { secret: 'other' },
      { appKey: 'other' },
      { timestamp: EXAMPLE.timestamp + 1 },
      { recvWindowMs: 5000 },
      { body: EXAMPLE_BODY + ' ' },
    ]) {
      expect(signatureHeaders({ ...EXAMPLE, ...change })['validate-signature']).not.toBe(base);
    }
  });
});

describe('the canonical query', () => {
  test('pairs are sorted by key, then value', () => {
    expect(
      canonicalQuery([
        ['symbol', 'btc_usdt'],
        ['limit', '10'],
        ['bizType', 'SPOT'],
      ]),
    ).toBe('bizType=SPOT&limit=10&symbol=btc_usdt');
    expect(
      canonicalQuery([
        ['b', '2'],
        ['a', 'z'],
        ['a', 'y'],
      ]),
    ).toBe('a=y&a=z&b=2');
    expect(canonicalQuery([])).toBe('');
  });

  test('everything but unreserved characters and the comma is percent-encoded, so no URL parser re-encodes it', () => {
    expect(encodeQueryComponent("a b&c=d#e'f(g)*!~,x/y?é")).toBe('a%20b%26c%3Dd%23e%27f%28g%29%2A%21~,x%2Fy%3F%C3%A9');
    const q = canonicalQuery([
      ['q', "it's a (test)*!"],
      ['currencies', 'usdt,btc'],
      ['k', 'ü/?#[]@'],
    ]);
    expect(new URL(`https://sapi.xt.com/p?${q}`).search).toBe(`?${q}`);
  });
});

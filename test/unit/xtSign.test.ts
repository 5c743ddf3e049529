/**
 * XT.COM's request signature (src/providers/xt/sign.ts), against the worked examples of XT.COM's
 * documentation (provider notes, "Calling user APIs with the token"; the third-party page's
 * "Obtain Signature"). The HMAC values were computed independently with `openssl dgst -sha256 -hmac`.
 * test/unit/xtSign-clients.test.ts compares the signed strings with ports of XT.COM's own clients.
 */
import {
  encodeQueryComponent,
  queryProblem,
  requestPart,
  signatureHeaders,
  signedString,
  wireQuery,
} from '../../src/providers/xt/sign.js';

const EXAMPLE_BODY =
  '{"symbol":"XT_USDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","bizType":"SPOT","price":3,"quantity":2}';
const EXAMPLE = {
  method: 'POST',
  path: '/v4/order',
  query: [] as [string, string][],
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

  test("the path style is the third-party page's formula: X is validate-appkey and validate-timestamp only, Y has no method", () => {
    const style = { ...EXAMPLE, style: 'path' as const };
    expect(signedString(style)).toBe(
      `validate-appkey=2063495b-85ec-41b3-a810-be84ceb78751&validate-timestamp=1666026215729#/v4/order#${EXAMPLE_BODY}`,
    );
    const h = signatureHeaders(style);
    // All four headers are still sent, as XT.COM's Java interceptor and xt-open-api send them.
    expect(Object.keys(h).sort()).toEqual([
      'validate-algorithms',
      'validate-appkey',
      'validate-recvwindow',
      'validate-signature',
      'validate-timestamp',
    ]);
    expect(h['validate-signature']).toBe('b0bf3cfde3fce7e5972d725ceb511c1022fcaff9c85e5ac5f8db9a0727279c8e');
  });

  test("the third-party page's own example (appKey 3976eb88…, timestamp 1641446237201), path style", () => {
    const i = {
      method: 'GET',
      path: '/future/api/v1/public/symbol/detail',
      query: [['symbol', 'btc_usdt']] as [string, string][],
      appKey: '3976eb88-76d0-4f6e-a6b2-a57980770085',
      secret: 'bc6630d0231fda5cd98794f52c4998659beda290',
      recvWindowMs: 5000,
      timestamp: 1641446237201,
      style: 'path' as const,
    };
    expect(signedString(i)).toBe(
      'validate-appkey=3976eb88-76d0-4f6e-a6b2-a57980770085&validate-timestamp=1641446237201#/future/api/v1/public/symbol/detail#symbol=btc_usdt',
    );
    expect(signatureHeaders(i)['validate-signature']).toBe(
      '8e211ac97b0306ffb8ee4fa4296811fe57963017328ecf716baceae857d225c3',
    );
  });
});

describe('the signed string', () => {
  test('a GET with a query: #GET#path#query', () => {
    const i = {
      ...EXAMPLE,
      method: 'get',
      path: '/spot/v4/balances',
      query: [['currencies', 'usdt,btc']] as [string, string][],
      body: undefined,
      appKey: 'k',
      secret: 's3cret',
      recvWindowMs: 5000,
      timestamp: 1700000000000,
    };
    expect(signedString(i)).toBe(
      'validate-algorithms=HmacSHA256&validate-appkey=k&validate-recvwindow=5000&validate-timestamp=1700000000000#GET#/spot/v4/balances#currencies=usdt,btc',
    );
    expect(signatureHeaders(i)['validate-signature']).toBe(
      'f70ef849b02d757003c16e768f8150d7a362fc59ef992d2af5e706aa14265953',
    );
  });

  test('no query and no body: nothing after the path; an empty body is no body', () => {
    expect(requestPart({ method: 'DELETE', path: '/spot/v4/order/1', query: [], body: '', style: 'method' })).toBe(
      '#DELETE#/spot/v4/order/1',
    );
    expect(requestPart({ method: 'GET', path: '/spot/v4/open-order', query: [], style: 'path' })).toBe(
      '#/spot/v4/open-order',
    );
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

describe('the query: signed decoded, sent encoded', () => {
  const get = (query: [string, string][]) => ({
    ...EXAMPLE,
    method: 'GET',
    path: '/spot/v4/order',
    query,
    body: undefined,
  });

  test.each([
    ['note', 'a b', 'note=a b', 'note=a%20b'],
    ['symbol', 'A/B', 'symbol=A/B', 'symbol=A%2FB'],
    ['x', 'é', 'x=é', 'x=%C3%A9'],
    ['q', '1+1', 'q=1+1', 'q=1%2B1'],
    ['currencies', 'usdt,btc', 'currencies=usdt,btc', 'currencies=usdt,btc'],
  ])('%s=%s is signed as %s and sent as %s', (k, v, signed, sent) => {
    expect(signedString(get([[k, v]]))).toBe(`${EXAMPLE_X}#GET#/spot/v4/order#${signed}`);
    expect(wireQuery([[k, v]])).toBe(sent);
  });

  test('a worked example, signature computed with openssl over the decoded string', () => {
    const i = {
      ...get([
        ['note', 'a b'],
        ['clientOrderId', 'my order/é+1'],
      ]),
      appKey: 'k',
      secret: 's3cret',
      recvWindowMs: 5000,
      timestamp: 1700000000000,
    };
    expect(signedString(i)).toBe(
      'validate-algorithms=HmacSHA256&validate-appkey=k&validate-recvwindow=5000&validate-timestamp=1700000000000#GET#/spot/v4/order#clientOrderId=my order/é+1&note=a b',
    );
    expect(signatureHeaders(i)['validate-signature']).toBe(
      '45fb053d0a23309b887f3003eb70591693aa4765e1b51256fb9d4fe629853de0',
    );
  });

  test("pairs are sorted by key in UTF-16 code-unit order (Java's TreeMap), in both forms", () => {
    const pairs: [string, string][] = [
      ['symbol', 'btc_usdt'],
      ['limit', '10'],
      ['bizType', 'SPOT'],
      ['Zeta', 'z'],
      ['é', '1'],
      ['a_b', '2'],
      ['ab', '3'],
    ];
    expect(signedString(get(pairs)).split('#').at(-1)).toBe(
      'Zeta=z&a_b=2&ab=3&bizType=SPOT&limit=10&symbol=btc_usdt&é=1',
    );
    expect(wireQuery(pairs)).toBe('Zeta=z&a_b=2&ab=3&bizType=SPOT&limit=10&symbol=btc_usdt&%C3%A9=1');
    expect(wireQuery([])).toBe('');
  });

  test('the wire form survives the URL parser unchanged and decodes, either way (+ as space or not), to the signed values', () => {
    const pairs: [string, string][] = [
      ['q', "it's a (test)*! 1+1"],
      ['currencies', 'usdt,btc'],
      ['k', 'ü/?[]@$;:'],
    ];
    const q = wireQuery(pairs);
    expect(new URL(`https://sapi.xt.com/p?${q}`).search).toBe(`?${q}`);
    const plusIsSpace = new URLSearchParams(q);
    const plusIsPlus = q.split('&').map((p) => p.split('=').map(decodeURIComponent));
    for (const [k, v] of pairs) {
      expect(plusIsSpace.get(k)).toBe(v);
      expect(plusIsPlus).toContainEqual([k, v]);
    }
  });

  test('&, = or # in a key or value, an empty or repeated key, or a lone surrogate: refused, never signed', () => {
    expect(
      queryProblem([
        ['currencies', 'usdt,btc'],
        ['note', 'a b/é+'],
      ]),
    ).toBeUndefined();
    for (const pairs of [
      [['clientOrderId', 'a&b']],
      [['clientOrderId', 'a=b']],
      [['clientOrderId', 'a#b']],
      [['a&b', '1']],
      [['a=b', '1']],
      [['a#b', '1']],
      [['', '1']],
      [
        ['a', '1'],
        ['a', '2'],
      ],
      [['a', '\ud800']],
    ] as [string, string][][]) {
      expect(queryProblem(pairs)).toEqual(expect.any(String));
    }
  });

  test('everything but unreserved characters and the comma is percent-encoded', () => {
    expect(encodeQueryComponent("a b&c=d#e'f(g)*!~,x/y?é+")).toBe(
      'a%20b%26c%3Dd%23e%27f%28g%29%2A%21~,x%2Fy%3F%C3%A9%2B',
    );
  });
});

/**
 * Our signed strings against ports of XT.COM's own clients' signing code, on generated requests.
 * Only the construction of the signed string is ported (small, in TypeScript), from:
 *
 *  [J1] XT.COM's Java demo, repository xt-com/xt-java-demo, src/main/java/com/xt/api/util/XtHttpUtil.java
 *       (getOrDel's TreeMap query, generateSign) at commit 320ad1bc8d73707687e304cbca4134ae31041840
 *       ("oapi apply apikey": appkey = client_id, HMAC key = client_secret, access-token header,
 *       used by src/test/java/com/xt/demo/ThirdPartyTest.java).
 *  [J2] the same repository's OkHttp interceptors, src/main/java/com/xt/api/interceptor/
 *       XtAbstractOkHttpInterceptor.java (getQuery: OkHttp's decoded query parameters in a TreeMap),
 *       XtSpotOkHttpInterceptor.java and XtFutureOkHttpInterceptor.java (generateSign), at commit
 *       b905774a154333a01d4e255168d6e8bcbfdc2aad.
 *  [N]  XT.COM's JavaScript SDK, npm package xt-open-api 1.0.16 (shasum
 *       06e1a91de4cea1ed222566b8645a0b05f321c1c3), lib/makeRequest.js (X, Y, sortQueryParams).
 *  [C]  ccxt, repository ccxt/ccxt, ts/src/xt.ts, sign(), at commit 018bcbf1330e7f9cdb28b91098b411a4ec7ec480
 *       (rawencode is qs.stringify with encode: false, keysort sorts keys with Array.prototype.sort).
 *
 * Where they disagree with each other, we match the Java demo (XT.COM's server is Java: a TreeMap
 * orders keys by UTF-16 code unit, as [C] does) and the tests below pin each difference down.
 */
import fc from 'fast-check';
import { type QueryPairs, queryProblem, signedString, wireQuery } from '../../src/providers/xt/sign.js';

type Style = 'method' | 'path';
interface Req {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query: [string, string][];
  /** The body's fields; sent as JSON.stringify of them. */
  body?: Record<string, string>;
  style: Style;
  appKey: string;
  timestamp: number;
  window: number;
}

// ---- [J1] XtHttpUtil.getOrDel + generateSign ----------------------------------------------------
function j1(r: Req): string {
  let query: string | null = null;
  if (r.query.length > 0) {
    const treeMap = Object.fromEntries(r.query);
    query = Object.keys(treeMap) // TreeMap: String.compareTo, UTF-16 code units
      .sort()
      .map((key) => `${key}=${treeMap[key]}`)
      .join('&');
  }
  const jsonBody = r.body ? JSON.stringify(r.body) : null;
  const x = `validate-algorithms=HmacSHA256&validate-appkey=${r.appKey}&validate-recvwindow=${r.window}&validate-timestamp=${r.timestamp}`;
  let y = `#${r.method}#${r.path}`;
  if (query != null && query.length > 0) y += `#${query}`;
  if (jsonBody != null && jsonBody.length > 0) y += `#${jsonBody}`;
  return x + y;
}

// ---- [J2] the interceptors, reading the request as it goes on the wire ----------------------------
function j2(r: Req, url: string, sentBody: string | undefined): string {
  const u = new URL(url);
  const path = decodeURIComponent(u.pathname); // url().uri().getPath()
  const map = new Map<string, string>(); // queryParameter(key): the first value, decoded, + as space (OkHttp)
  for (const [k, v] of u.searchParams) if (!map.has(k)) map.set(k, v);
  const query = [...map.keys()]
    .sort()
    .map((k) => `${k}=${map.get(k)}`)
    .join('&');
  const jsonBody = sentBody && sentBody.length > 0 ? sentBody : null;
  const x =
    r.style === 'method'
      ? `validate-algorithms=HmacSHA256&validate-appkey=${r.appKey}&validate-recvwindow=${r.window}&validate-timestamp=${r.timestamp}`
      : `validate-appkey=${r.appKey}&validate-timestamp=${r.timestamp}`;
  let y = r.style === 'method' ? `#${r.method.toUpperCase()}#${path}` : `#${path}`;
  if (query.length > 0) y += `#${query}`;
  if (jsonBody != null) y += `#${jsonBody}`;
  return x + y;
}

// ---- [N] xt-open-api makeRequest (isFuture = the path style) -------------------------------------
function n(r: Req): string {
  const isFuture = r.style === 'path';
  const headerPairs = [
    ['validate-algorithms', 'HmacSHA256'],
    ['validate-appkey', r.appKey],
    ['validate-recvwindow', String(r.window)],
    ['validate-timestamp', String(r.timestamp)],
  ];
  const futureSignKeys = ['validate-appkey', 'validate-timestamp'];
  const X = headerPairs
    .filter((t) => (isFuture ? futureSignKeys.includes(t[0]!) : true))
    .map((t) => t.join('='))
    .join('&');
  const query = Object.fromEntries(r.query);
  const sortQueryParams = (q: Record<string, string>) =>
    Object.keys(q)
      .sort((a, b) => a.localeCompare(b))
      .map((key) => `${key}=${q[key]}`)
      .join('&');
  const queryStr = Object.keys(query).length ? `#${sortQueryParams(query)}` : '';
  const bodyStr = r.body && Object.keys(r.body).length ? `#${JSON.stringify(r.body)}` : '';
  return `${X}${isFuture ? '' : `#${r.method}`}#${r.path}${queryStr}${bodyStr}`;
}

// ---- [C] ccxt sign(): 'spot' (the method style) and 'linear' (the path style) ---------------------
// ccxt sends and signs the headers as xt-validate-*; XT.COM's documents and Java demo name them
// validate-*, which is what we send, so the port takes the prefix as a parameter.
/** ccxt's isUndefinedBody: a GET, or order/{orderId}, carries its params in the query, all else in a JSON body. */
const ccxtQueryOnly = (r: Req) => r.method === 'GET' || (r.style === 'method' && /\/order\/\d+$/.test(r.path));
function c(r: Req, prefix = ''): string {
  const isUndefinedBody = ccxtQueryOnly(r);
  const params: Record<string, string> = isUndefinedBody ? Object.fromEntries(r.query) : { ...r.body };
  const keysorted = Object.keys(params).sort();
  const rawencode = keysorted.map((k) => `${k}=${params[k]}`).join('&');
  // urlencode is qs.stringify (it also escapes !'()*, which encodeURIComponent leaves; no test here depends on those).
  const urlencoded = keysorted.map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!)}`).join('&');
  const body = isUndefinedBody ? undefined : JSON.stringify(params);
  const t = `${prefix}validate-t` + `imestamp=${r.timestamp}`;
  if (r.style === 'method') {
    let s = `${prefix}validate-algorithms=HmacSHA256&${prefix}validate-appkey=${r.appKey}&${prefix}validate-recvwindow=${r.window}&${t}`;
    if (isUndefinedBody) s += rawencode ? `#${r.method}#${r.path}#${rawencode}` : `#${r.method}#${r.path}`;
    else s += `#${r.method}#${r.path}#${body}`;
    return s;
  }
  let s = `${prefix}validate-appkey=${r.appKey}&${t}`;
  if (r.method === 'GET') s += urlencoded ? `#${r.path}#${urlencoded}` : `#${r.path}`;
  else s += `#${r.path}#${body}`;
  return s;
}

// ---- ours ------------------------------------------------------------------------------------------
function ours(r: Req): { signed: string; url: string; body: string | undefined } {
  const body = r.body ? JSON.stringify(r.body) : undefined;
  const signed = signedString({ ...r, query: r.query, body, secret: 's', recvWindowMs: r.window });
  const q = wireQuery(r.query);
  return { signed, url: `https://sapi.xt.com${r.path}${q ? `?${q}` : ''}`, body };
}

// ---- generated requests ------------------------------------------------------------------------------
const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const separators = fc.constantFrom('&', '=', '#');
const nonAscii = fc
  .integer({ min: 0xa0, max: 0x10ffff })
  .filter((cp) => cp < 0xd800 || cp > 0xdfff)
  .map((cp) => String.fromCodePoint(cp));
const unit = fc.oneof(
  { arbitrary: printable, weight: 10 },
  { arbitrary: nonAscii, weight: 3 },
  { arbitrary: separators, weight: 1 },
);
const key = fc.oneof(
  fc.constantFrom('symbol', 'currencies', 'bizType', 'clientOrderId', 'Zeta', 'a_b', 'ab'),
  fc.string({ unit, minLength: 1, maxLength: 6 }),
);
const value = fc.oneof(
  fc.constantFrom('', 'usdt,btc', 'a b', 'A/B', 'é', '1+1', '%41'),
  fc.string({ unit, maxLength: 8 }),
);
const request = fc.record({
  method: fc.constantFrom<Req['method'][]>('GET', 'POST', 'DELETE'),
  path: fc.constantFrom(
    '/spot/v4/order',
    '/spot/v4/balances',
    '/spot/v4/order/123',
    '/user/account/api-key',
    '/future/trade/v1/order/create',
  ),
  query: fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 4 }),
  body: fc.option(fc.dictionary(fc.string({ unit, minLength: 1, maxLength: 6 }), value, { minKeys: 1, maxKeys: 4 }), {
    nil: undefined,
  }),
  style: fc.constantFrom<Style[]>('method', 'path'),
  appKey: fc.constantFrom('DDJ7BLK49YUCL97S', '2063495b-85ec-41b3-a810-be84ceb78751'),
  timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  window: fc.constantFrom(5000, 6000, 60000),
});

const sameOrderUnderLocale = (q: QueryPairs) => {
  const keys = q.map(([k]) => k);
  return [...keys].sort().join('\u0000') === [...keys].sort((a, b) => a.localeCompare(b)).join('\u0000');
};
const onlyUnreserved = (q: QueryPairs) => q.every(([k, v]) => /^[A-Za-z0-9._~-]*$/.test(k + v));

describe("our signed strings are XT.COM's clients' signed strings", () => {
  test('for every request we send (GET, POST, DELETE; any printable or non-ASCII key and value; bodies), in both styles', () => {
    let compared = 0;
    fc.assert(
      fc.property(request, (r) => {
        if (queryProblem(r.query)) {
          // The only requests we refuse: a key or value holding a separator of the signed string.
          expect(r.query.some(([k, v]) => /[&=#]/.test(k + v))).toBe(true);
          return;
        }
        compared++;
        const me = ours(r);
        if (r.style === 'method') expect(me.signed).toBe(j1(r));
        expect(me.signed).toBe(j2(r, me.url, me.body));
        if (sameOrderUnderLocale(r.query)) expect(me.signed).toBe(n(r));
        const ccxtShape = ccxtQueryOnly(r) ? r.body === undefined : r.query.length === 0 && r.body !== undefined;
        if (ccxtShape && (r.style === 'method' || r.method !== 'GET' || onlyUnreserved(r.query)))
          expect(me.signed).toBe(c(r));
      }),
      { numRuns: 1500 },
    );
    expect(compared).toBeGreaterThan(300);
  });
});

describe('where the clients differ from each other, and what we match', () => {
  const base: Req = {
    method: 'GET',
    path: '/spot/v4/order',
    query: [],
    style: 'method',
    appKey: 'k',
    timestamp: 1700000000000,
    window: 5000,
  };

  test('key order: code units (Java TreeMap, ccxt), not localeCompare (xt-open-api)', () => {
    const r = {
      ...base,
      query: [
        ['a', '1'],
        ['B', '2'],
        ['_x', '3'],
      ] as [string, string][],
    };
    expect(ours(r).signed).toMatch(/#B=2&_x=3&a=1$/);
    expect(ours(r).signed).toBe(j1(r));
    expect(ours(r).signed).toBe(c(r));
    expect(n(r)).toMatch(/#_x=3&a=1&B=2$/); // would be AUTH_103 at a Java server
  });

  test('ccxt futures (path style) signs a GET query percent-encoded; the Java interceptor and xt-open-api sign it decoded, as we do', () => {
    const r = { ...base, style: 'path' as const, query: [['symbol', 'A/B c']] as [string, string][] };
    const me = ours(r);
    expect(me.signed).toMatch(/#symbol=A\/B c$/);
    expect(me.signed).toBe(j2(r, me.url, me.body));
    expect(me.signed).toBe(n(r));
    expect(c(r)).toMatch(/#symbol=A%2FB%20c$/);
  });

  test('ccxt sends and signs xt-validate-* headers; XT.COM documents validate-*, which we send', () => {
    const r = { ...base, query: [['currencies', 'usdt,btc']] as [string, string][] };
    expect(c(r, 'xt-')).toBe(`xt-${ours(r).signed.replace(/&validate-/g, '&xt-validate-')}`);
  });

  test('an empty JSON object body: xt-open-api sends {} but does not sign it; the Java demo and we sign what is sent', () => {
    const r = { ...base, method: 'POST' as const, body: {} };
    expect(ours(r).signed).toMatch(/#POST#\/spot\/v4\/order#\{\}$/);
    expect(ours(r).signed).toBe(j1(r));
    expect(n(r)).toMatch(/#POST#\/spot\/v4\/order$/);
  });

  test('& = # in a value: the clients sign it raw (ambiguous: a=1&b=2 either way); we refuse it before sending', () => {
    const one = { ...base, query: [['a', '1&b=2']] as [string, string][] };
    const two = {
      ...base,
      query: [
        ['a', '1'],
        ['b', '2'],
      ] as [string, string][],
    };
    expect(j1(one)).toBe(j1(two));
    expect(queryProblem(one.query)).toMatch(/&, = or #/);
    expect(queryProblem(two.query)).toBeUndefined();
  });
});

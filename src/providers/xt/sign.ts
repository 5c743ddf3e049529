/**
 * XT.COM's request signature, as XT.COM's own clients compute it (its Java demo's XtHttpUtil and
 * futures interceptor, the xt-open-api package, ccxt's xt.js; see "Calling XT.COM's user APIs" in
 * docs/architecture.md and test/unit/xtSign-clients.test.ts). Pure functions: no clock, no I/O.
 *
 *   style `method` (default; the spot pages, XtHttpUtil):
 *     X = validate-algorithms, -appkey, -recvwindow, -timestamp as name=value, sorted, joined with &
 *     Y = #METHOD#path
 *   style `path` (the third-party page, the futures interceptor):
 *     X = validate-appkey=<key>&validate-timestamp=<ms>, those two only
 *     Y = #path
 *   then, in both, #query when there is one and #body when there is one;
 *   validate-signature = lowercase hex HMAC-SHA256(secret, X + Y).
 *
 * The query is signed DECODED (`note=a b`, `symbol=A/B`, `x=é`), its pairs sorted by key in UTF-16
 * code-unit order (Java's TreeMap) and joined with &; it is sent percent-encoded (wireQuery). A key
 * or value holding `&`, `=` or `#` would make the signed string ambiguous, so queryProblem()
 * refuses it before anything is sent.
 */
import { createHmac } from 'node:crypto';

export type SignStyle = 'method' | 'path';

export const SIGN_ALGORITHM = 'HmacSHA256';

/** Decoded key/value pairs, in any order. */
export type QueryPairs = readonly (readonly [string, string])[];

export interface SignInput {
  method: string;
  path: string;
  /** The query's decoded pairs (checked by queryProblem), [] for none. */
  query: QueryPairs;
  /** The exact JSON bytes sent, '' or undefined for none. */
  body?: string;
  appKey: string;
  secret: string;
  recvWindowMs: number;
  timestamp: number;
  style: SignStyle;
}

/** Characters that separate the signed string's pairs and parts: never inside a key or value. */
const AMBIGUOUS = /[&=#]/;
/** A lone UTF-16 surrogate: no UTF-8 for it, so it can be neither encoded nor signed. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why these pairs cannot be signed unambiguously, or undefined when they can. */
export function queryProblem(pairs: QueryPairs): string | undefined {
  const seen = new Set<string>();
  for (const [k, v] of pairs) {
    if (k === '') return 'empty query key';
    if (seen.has(k)) return 'repeated query key';
    seen.add(k);
    if (AMBIGUOUS.test(k) || AMBIGUOUS.test(v))
      return 'query key or value holds &, = or #, which XT.COM cannot tell apart in the signed string';
    if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) return 'query is not valid Unicode';
  }
  return undefined;
}

/**
 * One query component, percent-encoded so that nothing between us and XT.COM (the URL parser, a
 * proxy) has a reason to re-encode it and any server decodes it to the value signed: everything
 * but RFC 3986's unreserved characters is encoded (a space as %20, `+` as %2B), except `,`, which
 * XT.COM's list parameters (`currencies=usdt,btc`) use and which reads the same raw and decoded.
 */
export function encodeQueryComponent(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2C/g, ',');
}

/** The pairs sorted by key in UTF-16 code-unit order, as Java's TreeMap (keys are unique). */
export function sortedPairs(pairs: QueryPairs): (readonly [string, string])[] {
  return [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The query as it is sent: the sorted pairs, percent-encoded. */
export function wireQuery(pairs: QueryPairs): string {
  return sortedPairs(pairs)
    .map(([k, v]) => `${encodeQueryComponent(k)}=${encodeQueryComponent(v)}`)
    .join('&');
}

/** The query as it is signed: the sorted pairs, decoded. */
export function signedQuery(pairs: QueryPairs): string {
  return sortedPairs(pairs)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** The four validate-* headers that are sent (everything but the signature itself). */
export function validateHeaders(i: Pick<SignInput, 'appKey' | 'recvWindowMs' | 'timestamp'>): Record<string, string> {
  return {
    'validate-algorithms': SIGN_ALGORITHM,
    'validate-appkey': i.appKey,
    'validate-recvwindow': String(i.recvWindowMs),
    'validate-timestamp': String(i.timestamp),
  };
}

/** X: the signed headers as name=value, sorted by name, joined with &; only appkey and timestamp in the path style. */
export function headerPart(headers: Record<string, string>, style: SignStyle = 'method'): string {
  const names = style === 'method' ? Object.keys(headers) : ['validate-appkey', 'validate-timestamp'];
  return names
    .sort()
    .map((k) => `${k}=${headers[k]}`)
    .join('&');
}

/** Y: #METHOD#path (or #path), then #query (decoded) and #body when present. */
export function requestPart(i: Pick<SignInput, 'method' | 'path' | 'query' | 'body' | 'style'>): string {
  let y = i.style === 'method' ? `#${i.method.toUpperCase()}#${i.path}` : `#${i.path}`;
  if (i.query.length > 0) y += `#${signedQuery(i.query)}`;
  if (i.body) y += `#${i.body}`;
  return y;
}

/** The full string that is signed, X + Y. Secret: it is never logged. */
export function signedString(i: SignInput): string {
  return headerPart(validateHeaders(i), i.style) + requestPart(i);
}

export function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** All five validate-* headers for one request (all four are sent in both styles, as XT.COM's clients do). */
export function signatureHeaders(i: SignInput): Record<string, string> {
  return { ...validateHeaders(i), 'validate-signature': hmacHex(i.secret, signedString(i)) };
}

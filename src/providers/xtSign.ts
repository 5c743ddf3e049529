/**
 * XT.COM's request signature, as its spot documentation and official example code compute it
 * (its "Basic information" and third-party pages). Pure functions: no clock, no I/O.
 *
 *   X = the four validate-* headers as name=value, sorted by name, joined with &
 *   Y = #METHOD#path (style `method`) or #path (style `path`, the third-party page's reading),
 *       then #query when there is one, then #body when there is one
 *   validate-signature = lowercase hex HMAC-SHA256(secret, X + Y)
 *
 * The query that is signed is the query that is sent: both come from canonicalQuery(), once.
 */
import { createHmac } from 'node:crypto';

export type SignStyle = 'method' | 'path';

export const SIGN_ALGORITHM = 'HmacSHA256';

export interface SignInput {
  method: string;
  path: string;
  /** The query exactly as it goes on the wire (from canonicalQuery), '' for none. */
  query: string;
  /** The exact JSON bytes sent, '' or undefined for none. */
  body?: string;
  appKey: string;
  secret: string;
  recvWindowMs: number;
  timestamp: number;
  style: SignStyle;
}

/**
 * One query component, percent-encoded so that nothing between us and XT.COM (axios, the WHATWG
 * URL parser, a proxy) has a reason to re-encode it: everything but RFC 3986's unreserved
 * characters is encoded, except `,`, which XT.COM's list parameters (`currencies=usdt,btc`) use
 * and which reads the same raw and decoded.
 */
export function encodeQueryComponent(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2C/g, ',');
}

/** The query string, from pairs sorted by encoded key (then value), as it is both sent and signed. */
export function canonicalQuery(pairs: readonly (readonly [string, string])[]): string {
  return pairs
    .map(([k, v]) => [encodeQueryComponent(k), encodeQueryComponent(v)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** The four validate-* headers that are signed (everything but the signature itself). */
export function validateHeaders(i: Pick<SignInput, 'appKey' | 'recvWindowMs' | 'timestamp'>): Record<string, string> {
  return {
    'validate-algorithms': SIGN_ALGORITHM,
    'validate-appkey': i.appKey,
    'validate-recvwindow': String(i.recvWindowMs),
    'validate-timestamp': String(i.timestamp),
  };
}

/** X: the headers as name=value, sorted by name, joined with &. */
export function headerPart(headers: Record<string, string>): string {
  return Object.keys(headers)
    .sort()
    .map((k) => `${k}=${headers[k]}`)
    .join('&');
}

/** Y: #METHOD#path (or #path), then #query and #body when present. */
export function requestPart(i: Pick<SignInput, 'method' | 'path' | 'query' | 'body' | 'style'>): string {
  let y = i.style === 'method' ? `#${i.method.toUpperCase()}#${i.path}` : `#${i.path}`;
  if (i.query) y += `#${i.query}`;
  if (i.body) y += `#${i.body}`;
  return y;
}

/** The full string that is signed, X + Y. Secret: it is never logged. */
export function signedString(i: SignInput): string {
  return headerPart(validateHeaders(i)) + requestPart(i);
}

export function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** All five validate-* headers for one request. */
export function signatureHeaders(i: SignInput): Record<string, string> {
  return { ...validateHeaders(i), 'validate-signature': hmacHex(i.secret, signedString(i)) };
}

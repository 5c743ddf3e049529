/**
 * The XT.COM stand-in's check of a signed user API request, written from XT.COM's own formula
 * (its spot and third-party pages, and the server-side reading its clients imply: the query
 * DECODED, as a Java/Spring server hands it over, then sorted and joined) and deliberately
 * independent of src/providers/xt/sign.ts, so that a mistake there is not mirrored here.
 *
 * The AUTH_ codes: the notes give the ranges (AUTH_001…007 a validate-* header missing or
 * malformed; AUTH_101 unknown key, 102 not active, 103 bad signature, 104 IP not bound,
 * 105 outdated, 106 beyond the key's permission). Which of 001…007 is which header follows
 * XT.COM's spot API error list.
 */
import { createHmac } from 'node:crypto';
import type { Request } from 'express';

export interface SignCheckOptions {
  apiKey: string;
  apiSecret: string;
  signStyle: 'method' | 'path';
  apiKeyActive: boolean;
  /** Addresses the key is bound to; empty: any. */
  boundIps: string[];
  /** The key may only read (GET). */
  readOnlyKey: boolean;
  /** Headers treated as never received (a proxy that strips them). */
  stripHeaders: string[];
}

export interface SignCheckResult {
  /** The AUTH_ code, when the request is refused. */
  mc?: string;
  /** What the client sent and what the stand-in signed, when there was enough to compute them. */
  signature?: string;
  signedString?: string;
}

const MAX_RECV_WINDOW = 60_000;
const MAX_AHEAD_MS = 1000;

/** The headers in X: all four in the `method` style, appkey and timestamp in the `path` style (the third-party page). */
const SIGNED_HEADERS = {
  method: ['validate-algorithms', 'validate-appkey', 'validate-recvwindow', 'validate-timestamp'],
  path: ['validate-appkey', 'validate-timestamp'],
} as const;

/** X + Y as XT.COM computes them, from the request as it arrived; undefined when the query cannot be decoded. */
export function expectedSignedString(
  req: Request,
  rawBody: string,
  style: 'method' | 'path',
  headers: Record<string, string>,
): string | undefined {
  const x = [...SIGNED_HEADERS[style]]
    .sort()
    .map((k) => `${k}=${headers[k]}`)
    .join('&');
  const [rawPath = '', rawQuery = ''] = splitOnce(req.originalUrl, '?');
  const query = decodedQuery(rawQuery);
  if (query === undefined) return undefined;
  let y = style === 'method' ? `#${req.method}#${rawPath}` : `#${rawPath}`;
  if (query) y += `#${query}`;
  if (rawBody) y += `#${rawBody}`;
  return x + y;
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

/** One name or value as a servlet container decodes a query string: `+` is a space, %XX is UTF-8. */
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The query as XT.COM's server signs it: the parameters decoded as a Java/Spring server reads them
 * (empty pieces skipped, a piece without `=` has the value ''), sorted by name in UTF-16
 * code-unit order (a TreeMap; equal names keep their order), each written `name=value`, joined
 * with &.
 */
function decodedQuery(raw: string): string | undefined {
  const pairs: { name: string; value: string; i: number }[] = [];
  for (const piece of raw.split('&')) {
    if (piece === '') continue;
    const [rawName = '', rawValue = ''] = splitOnce(piece, '=');
    const name = formDecode(rawName);
    const value = formDecode(rawValue);
    if (name === undefined || value === undefined) return undefined;
    pairs.push({ name, value, i: pairs.length });
  }
  return pairs
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.i - b.i))
    .map((p) => `${p.name}=${p.value}`)
    .join('&');
}

/** Checks a request's validate-* headers against the stand-in's clock `now`. */
export function checkSignature(req: Request, rawBody: string, o: SignCheckOptions, now: number): SignCheckResult {
  const get = (name: string) => (o.stripHeaders.includes(name) ? undefined : req.get(name));
  const appKey = get('validate-appkey');
  const timestamp = get('validate-timestamp');
  // The third-party page marks these two optional (defaults 5000 and HmacSHA256); the spot pages require them.
  const optional = o.signStyle === 'path';
  const recvWindow = get('validate-recvwindow') ?? (optional ? '5000' : undefined);
  const algorithms = get('validate-algorithms') ?? (optional ? 'HmacSHA256' : undefined);
  const signature = get('validate-signature');
  if (appKey === undefined) return { mc: 'AUTH_001', signature };
  if (timestamp === undefined || !/^\d{1,16}$/.test(timestamp)) return { mc: 'AUTH_002', signature };
  if (recvWindow === undefined) return { mc: 'AUTH_003', signature };
  if (!/^\d{1,6}$/.test(recvWindow) || Number(recvWindow) < 1 || Number(recvWindow) > MAX_RECV_WINDOW)
    return { mc: 'AUTH_004', signature };
  if (algorithms === undefined) return { mc: 'AUTH_005', signature };
  if (algorithms !== 'HmacSHA256') return { mc: 'AUTH_006', signature };
  if (signature === undefined) return { mc: 'AUTH_007' };

  const headers = {
    'validate-algorithms': algorithms,
    'validate-appkey': appKey,
    'validate-recvwindow': recvWindow,
    'validate-timestamp': timestamp,
  };
  const signedString = expectedSignedString(req, rawBody, o.signStyle, headers);
  if (signedString === undefined) return { mc: 'AUTH_103', signature }; // a query no server can decode
  const seen = { signature, signedString };
  if (appKey !== o.apiKey) return { mc: 'AUTH_101', ...seen };
  if (!o.apiKeyActive) return { mc: 'AUTH_102', ...seen };
  if (o.boundIps.length > 0 && !o.boundIps.includes((req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')))
    return { mc: 'AUTH_104', ...seen };
  const ts = Number(timestamp);
  if (ts > now + MAX_AHEAD_MS || now - ts > Number(recvWindow)) return { mc: 'AUTH_105', ...seen };
  const expected = createHmac('sha256', o.apiSecret).update(signedString, 'utf8').digest('hex');
  if (signature !== expected) return { mc: 'AUTH_103', ...seen };
  if (o.readOnlyKey && req.method !== 'GET') return { mc: 'AUTH_106', ...seen };
  return seen;
}

/**
 * The XT.COM path and query a /api/xt request names, checked before anything else looks at them.
 * Refuse, never repair: a path that is not already in its one plain form is a 400, so the path
 * that is matched against the allow-list is exactly the path that is sent and signed.
 *
 * Path: `/segment/segment…`, each segment of letters, digits and `. _ ~ -`, none empty, none `.`
 * or `..`. So no percent-encoding at all (`%2e%2e`, `%2f`, `%5c`, `%00`…), no `//`, no backslash,
 * no control character, and nothing (`@`, `:`, a scheme) that could point away from the API host.
 *
 * Query: `key=value` pairs joined by `&`; keys are plain names (no `a[]` or `a.b`), each at most
 * once; values are percent-decoded (`+` is a space, as URLSearchParams writes it) and must be
 * valid UTF-8 without control characters, and never hold `&`, `=` or `#` (XT.COM signs the decoded
 * pairs joined with `&` and `#`, so such a value could not be verified unambiguously: refused
 * here with a 400, before the allow-list, the guard or XT.COM see anything).
 */
import { badRequest } from '../../errors.js';
import { queryProblem } from '../../providers/xt/sign.js';

export interface XtTarget {
  path: string;
  query: [string, string][];
}

const MAX_PATH = 256;
const MAX_SEGMENTS = 12;
const MAX_QUERY = 2048;
const MAX_PAIRS = 32;
const MAX_VALUE = 1024;
const SEGMENT = /^[A-Za-z0-9._~-]+$/;
const KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\ufffd]/;

/** Why a raw path is refused, or undefined when it is in its plain form. */
export function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'path must start with /';
  if (path.length > MAX_PATH) return 'path too long';
  if (CONTROL.test(path)) return 'control character';
  if (path.includes('\\') || /%5c/i.test(path)) return 'backslash';
  if (/%2f/i.test(path)) return 'encoded slash';
  if (/%2e/i.test(path)) return 'encoded dot';
  if (path.includes('%')) return 'percent-encoding';
  const segments = path.slice(1).split('/');
  if (segments.length > MAX_SEGMENTS) return 'too many segments';
  if (segments.some((s) => s === '')) return 'empty segment';
  if (segments.some((s) => s === '.' || s === '..')) return 'dot segment';
  if (!segments.every((s) => SEGMENT.test(s))) return 'character not allowed';
  return undefined;
}

function decodeValue(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined; // a malformed escape or bytes that are not UTF-8
  }
}

/** The query's pairs in the order given, or a 400. */
export function parseQuery(raw: string): [string, string][] {
  if (raw === '') return [];
  if (raw.length > MAX_QUERY) throw badRequest('query too long');
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (const part of raw.split('&')) {
    if (part === '') throw badRequest('empty query pair');
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (!KEY.test(key)) throw badRequest(/[[\]]|%5b|%5d/i.test(key) ? 'array syntax in query' : 'invalid query key');
    if (seen.has(key)) throw badRequest('repeated query key');
    seen.add(key);
    const value = decodeValue(eq < 0 ? '' : part.slice(eq + 1));
    if (value === undefined) throw badRequest('invalid query encoding');
    if (value.length > MAX_VALUE) throw badRequest('query value too long');
    if (CONTROL.test(value)) throw badRequest('control character in query');
    pairs.push([key, value]);
  }
  if (pairs.length > MAX_PAIRS) throw badRequest('too many query pairs');
  const problem = queryProblem(pairs);
  if (problem) throw badRequest(problem);
  return pairs;
}

/** Splits the part of the request URL after the gateway's prefix into a checked path and query. */
export function parseXtTarget(rest: string): XtTarget {
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const problem = pathProblem(path);
  if (problem) throw badRequest(problem);
  if (rest.includes('#')) throw badRequest('fragment in request');
  return { path, query: parseQuery(q < 0 ? '' : rest.slice(q + 1)) };
}

/**
 * XT_API_ALLOW: which XT.COM user APIs the site's pages may call through /api/xt. A comma-separated
 * list of `METHOD /path` entries, where `*` stands for exactly one path segment. Setting it
 * replaces the default, which is read-only.
 *
 * `POST /user/account/api-key` answers with the person's API secret, which must never reach a
 * browser script: the gateway refuses that path whatever the list says, and a list with an entry
 * that would match it is a configuration error (the app does not start).
 *
 * Pure: parsed once by the configuration, matched by the gateway.
 */

export type XtMethod = 'GET' | 'POST' | 'DELETE';
export const XT_METHODS: readonly XtMethod[] = ['GET', 'POST', 'DELETE'];

export interface AllowEntry {
  method: XtMethod;
  /** Path segments; '*' matches any one segment. */
  segments: string[];
  /** As written, for messages and logs. */
  text: string;
}

export const DEFAULT_XT_API_ALLOW = [
  'GET /spot/v4/balance',
  'GET /spot/v4/balances',
  'GET /spot/v4/order',
  'GET /spot/v4/order/*',
  'GET /spot/v4/batch-order',
  'GET /spot/v4/open-order',
  'GET /spot/v4/history-order',
  'GET /spot/v4/trade',
].join(',');

/** The one path that is never reachable through /api/xt (compared without regard to case). */
export const NEVER_ALLOWED_PATH = '/user/account/api-key';

/** A path segment of an entry: the characters a checked request path may hold, or `*`. */
const SEGMENT = /^(\*|[A-Za-z0-9_~-][A-Za-z0-9._~-]*)$/;

const splitPath = (path: string) => path.slice(1).split('/');

function segmentsMatch(pattern: string[], segments: string[], caseless = false): boolean {
  if (pattern.length !== segments.length) return false;
  return pattern.every((p, i) => p === '*' || (caseless ? p.toLowerCase() === segments[i]!.toLowerCase() : p === segments[i]));
}

/**
 * True for the api-key path and anything that starts like it, in any letter case: XT.COM's router
 * may not care about case, and a router with suffix matching (`api-key.json`) or one that drops a
 * trailing dot or segment (`api-key.`, `api-key/x`) would still answer with the secret.
 */
export function isNeverAllowed(path: string): boolean {
  return path.toLowerCase().startsWith(NEVER_ALLOWED_PATH);
}

/** True when an entry could match a path that isNeverAllowed refuses (a `*` matches any one segment). */
function reachesNeverAllowed(segments: string[]): boolean {
  const [user, account, key] = splitPath(NEVER_ALLOWED_PATH) as [string, string, string];
  const is = (s: string | undefined, want: string) => s === '*' || s?.toLowerCase() === want;
  return segments.length >= 3 && is(segments[0], user) && is(segments[1], account) && (segments[2] === '*' || segments[2]!.toLowerCase().startsWith(key));
}

/** The one entry that may reach the api-key path, on the service API only (SERVICE_ALLOW_API_KEY_CREATION). */
export const API_KEY_CREATION = `POST ${NEVER_ALLOWED_PATH}`;

export interface AllowListOptions {
  /** The variable's name, for the messages. */
  name: string;
  /** Accept exactly `POST /user/account/api-key` (the service API with SERVICE_ALLOW_API_KEY_CREATION=true). */
  apiKeyCreation?: boolean;
}

/**
 * Parses XT_API_ALLOW (or SERVICE_XT_API_ALLOW). Returns the entries, or the problems (each a
 * sentence for the start-up message).
 */
export function parseAllowList(text: string, opts: AllowListOptions = { name: 'XT_API_ALLOW' }): { entries: AllowEntry[]; problems: string[] } {
  const { name } = opts;
  const entries: AllowEntry[] = [];
  const problems: string[] = [];
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) return { entries, problems: [`${name}: is empty; leave it unset for the read-only default`] };
  for (const part of parts) {
    if (part === '') continue;
    const m = /^([A-Za-z]+)\s+(\/\S*)$/.exec(part);
    const method = m?.[1]?.toUpperCase() as XtMethod | undefined;
    if (!m || !method || !XT_METHODS.includes(method)) {
      problems.push(`${name}: "${part}" must be METHOD /path, with METHOD one of ${XT_METHODS.join(', ')}`);
      continue;
    }
    const segments = splitPath(m[2]!);
    if (!segments.every((s) => SEGMENT.test(s))) {
      problems.push(`${name}: "${part}" has an empty or invalid path segment (letters, digits, . _ ~ - or a lone * only)`);
      continue;
    }
    const text = `${method} ${m[2]}`;
    if (text === API_KEY_CREATION && opts.apiKeyCreation) {
      entries.push({ method, segments, text });
      continue;
    }
    // Any method: a wildcard entry that reaches the api-key path would hand a browser the secret.
    if (reachesNeverAllowed(segments)) {
      problems.push(
        name === 'XT_API_ALLOW'
          ? `${name}: "${part}" would allow ${NEVER_ALLOWED_PATH}, which returns the person's API secret to a browser script; it is never allowed`
          : `${name}: "${part}" would allow ${NEVER_ALLOWED_PATH}, which returns the person's API secret; list exactly "${API_KEY_CREATION}" and set SERVICE_ALLOW_API_KEY_CREATION=true to allow it`,
      );
      continue;
    }
    entries.push({ method, segments, text });
  }
  return { entries, problems };
}

/**
 * True when `method path` is on the list. `path` must already be checked (see the gateway's path
 * rules). The api-key path is refused unless the caller may create keys at all (`apiKeyCreation`:
 * the service API with SERVICE_ALLOW_API_KEY_CREATION, never a browser), the list holds exactly
 * API_KEY_CREATION, and the request is exactly that, letter for letter.
 */
export function isAllowed(entries: readonly AllowEntry[], method: string, path: string, apiKeyCreation = false): boolean {
  if (isNeverAllowed(path)) return apiKeyCreation && `${method} ${path}` === API_KEY_CREATION && entries.some((e) => e.text === API_KEY_CREATION);
  const segments = splitPath(path);
  return entries.some((e) => e.method === method && segmentsMatch(e.segments, segments));
}

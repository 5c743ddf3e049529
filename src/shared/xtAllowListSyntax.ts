/**
 * XT_API_ALLOW and SERVICE_XT_API_ALLOW: the syntax of the list, its read-only default, and the
 * parser the configuration runs once at start-up. A comma-separated list of `METHOD /path` entries,
 * where `*` stands for exactly one path segment. Setting it replaces the default, which is read-only.
 *
 * `POST /user/account/api-key` answers with the person's API secret, which must never reach a
 * browser script: a list with an entry that would match it is a configuration error (the app does
 * not start), and the gateway refuses that path whatever the list says.
 *
 * Why this half lives in shared/ and the matching half in routes/xt/allowList.ts, next to the
 * gateway: config.ts parses the list, and config sits in the bottom layer, which may import only
 * shared/ (see test/unit/layering.test.ts). The matcher is used only by the gateway. Pure.
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

/** A checked path's segments: `/a/b` is `['a', 'b']`. */
export const splitPath = (path: string) => path.slice(1).split('/');

/** The pattern of an entry, as spans name a call (`GET /spot/v4/order/*` → `/spot/v4/order/*`). */
export const entryPattern = (e: AllowEntry): string => e.text.slice(e.method.length + 1);

/** `/spot/v4/order/123` as `/spot/v4/order/{id}`: a version segment (`v4`) stays, any other with a digit is hidden. */
export function pathTemplate(path: string): string {
  return path
    .split('/')
    .map((seg) => (/\d/.test(seg) && !/^v\d+$/.test(seg) ? '{id}' : seg))
    .join('/')
    .slice(0, 256);
}

/** True when an entry could match a path that isNeverAllowed refuses (a `*` matches any one segment). */
function reachesNeverAllowed(segments: string[]): boolean {
  const [user, account, key] = splitPath(NEVER_ALLOWED_PATH) as [string, string, string];
  const is = (s: string | undefined, want: string) => s === '*' || s?.toLowerCase() === want;
  return (
    segments.length >= 3 &&
    is(segments[0], user) &&
    is(segments[1], account) &&
    (segments[2] === '*' || segments[2]!.toLowerCase().startsWith(key))
  );
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
export function parseAllowList(
  text: string,
  opts: AllowListOptions = { name: 'XT_API_ALLOW' },
): { entries: AllowEntry[]; problems: string[] } {
  const { name } = opts;
  const entries: AllowEntry[] = [];
  const problems: string[] = [];
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === ''))
    return { entries, problems: [`${name}: is empty; leave it unset for the read-only default`] };
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
      problems.push(
        `${name}: "${part}" has an empty or invalid path segment (letters, digits, . _ ~ - or a lone * only)`,
      );
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

/**
 * What /api/xt and /v1/xt may call: the gateway's match of a checked request against the parsed
 * XT_API_ALLOW (or SERVICE_XT_API_ALLOW) list, and the api-key path that no list opens to a browser.
 *
 * The list's syntax, default and parser are in shared/xtAllowListSyntax.ts, because config.ts
 * parses the list at start-up and config may import only shared/ (the layering test); they are
 * re-exported here, so the gateway and its tests read the allow list from one place.
 */
import { API_KEY_CREATION, type AllowEntry, NEVER_ALLOWED_PATH, splitPath } from '../../shared/xtAllowListSyntax.js';

export {
  API_KEY_CREATION,
  type AllowEntry,
  type AllowListOptions,
  DEFAULT_XT_API_ALLOW,
  entryPattern,
  NEVER_ALLOWED_PATH,
  parseAllowList,
  XT_METHODS,
  type XtMethod,
} from '../../shared/xtAllowListSyntax.js';

function segmentsMatch(pattern: string[], segments: string[], caseless = false): boolean {
  if (pattern.length !== segments.length) return false;
  return pattern.every(
    (p, i) => p === '*' || (caseless ? p.toLowerCase() === segments[i]!.toLowerCase() : p === segments[i]),
  );
}

/**
 * True for the api-key path and anything that starts like it, in any letter case: XT.COM's router
 * may not care about case, and a router with suffix matching (`api-key.json`) or one that drops a
 * trailing dot or segment (`api-key.`, `api-key/x`) would still answer with the secret.
 */
export function isNeverAllowed(path: string): boolean {
  return path.toLowerCase().startsWith(NEVER_ALLOWED_PATH);
}

/**
 * True when `method path` is on the list. `path` must already be checked (see the gateway's path
 * rules). The api-key path is refused unless the caller may create keys at all (`apiKeyCreation`:
 * the service API with SERVICE_ALLOW_API_KEY_CREATION, never a browser), the list holds exactly
 * API_KEY_CREATION, and the request is exactly that, letter for letter.
 */
export function isAllowed(
  entries: readonly AllowEntry[],
  method: string,
  path: string,
  apiKeyCreation = false,
): boolean {
  return allowedBy(entries, method, path, apiKeyCreation) !== undefined;
}

/** The entry that allows `method path` (see isAllowed), or undefined: its pattern names the call in traces. */
export function allowedBy(
  entries: readonly AllowEntry[],
  method: string,
  path: string,
  apiKeyCreation = false,
): AllowEntry | undefined {
  if (isNeverAllowed(path))
    return apiKeyCreation && `${method} ${path}` === API_KEY_CREATION
      ? entries.find((e) => e.text === API_KEY_CREATION)
      : undefined;
  const segments = splitPath(path);
  return entries.find((e) => e.method === method && segmentsMatch(e.segments, segments));
}

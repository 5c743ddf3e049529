/**
 * Only a same-origin path survives as a post-login destination, or, where the caller passes the
 * institution's EMBED_ORIGINS, an absolute URL on exactly one of those origins (so a login started
 * from the institution's page can bring the person back to it); anything else becomes the default.
 *
 * The rule is structural: the value judged is exactly the value returned, and it is the value
 * that goes out in `Location` (Express's redirect encoding leaves it unchanged, see SENT_SAFE).
 * It is judged after the URL parser has normalised it (dot segments removed, backslashes turned
 * into slashes, characters percent-encoded), so no later normalisation, by us or by a browser,
 * can turn an accepted path into `//host`.
 */
export const DEFAULT_RETURN_TO = '/account';

/**
 * What the returned path may contain: printable ASCII that Express's `encodeurl` passes through
 * unchanged (no space, quotes, angle brackets, backtick, braces, backslash), with `%` only as a
 * complete escape. Starts with one `/` that is not followed by `/` or `\`.
 */
const SENT_SAFE = /^\/(?![/\\])(?:[A-Za-z0-9!#$&'()*+,\-./:;=?@[\]^_|~]|%[0-9A-Fa-f]{2})*$/;

/** Characters refused in the raw input before parsing: controls, backslash and look-alike slashes or spaces. */
const RAW_REFUSED =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\\\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u206f\u2215\u2044\u29f8\uff0f\uff3c\ufe68\u3000\ufeff]/;

/** Resolves the way a browser resolves a `Location` header, against a throwaway origin. */
const BASE = 'http://return-to.invalid';

function normalise(path: string): string | undefined {
  try {
    const url = new URL(path, `${BASE}/auth/callback`);
    if (url.origin !== BASE) return undefined;
    return url.pathname + url.search + url.hash;
  } catch {
    return undefined;
  }
}

/** Decodes up to three times, so that %2F%2F and %252F%252F are judged like //. */
function decodedForms(raw: string): string[] | undefined {
  const forms = [raw];
  let cur = raw;
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(cur);
    } catch {
      return undefined;
    }
    if (next === cur) break;
    forms.push(next);
    cur = next;
  }
  return forms;
}

/** True when `path` is a value we would send: same origin, and a fixed point of normalisation. */
export function isSafeReturnPath(path: string): boolean {
  if (!SENT_SAFE.test(path)) return false;
  // The browser will normalise once more; the result must be the string itself, so what is
  // judged here is what the browser follows.
  return normalise(path) === path;
}

/** The longest returnTo taken, and sent. */
const MAX_LENGTH = 512;

/**
 * `raw` judged as a destination: a same-origin path, or (with `origins`, the exact origins of
 * EMBED_ORIGINS) an absolute URL that starts with exactly one of them, byte for byte, followed by
 * the end, `/`, `?` or `#` (so no userinfo, other host, port or scheme can hide behind it), and
 * whose rest passes the same-origin path rules. Anything else: `fallback`.
 */
export function safeReturnTo(
  raw: string | undefined,
  fallback = DEFAULT_RETURN_TO,
  origins: readonly string[] = [],
): string {
  if (!raw || raw.length > MAX_LENGTH) return fallback;
  const origin = origins.find((o) => raw.startsWith(o) && /^(?:[/?#]|$)/.test(raw.slice(o.length)));
  if (origin === undefined) return safePath(raw) ?? fallback;
  const rest = raw.slice(origin.length);
  const path = safePath(rest.startsWith('/') ? rest : `/${rest}`);
  if (path === undefined) return fallback;
  const sent = origin + path;
  // Structural: the URL parser must read back exactly this string, on exactly that origin.
  let url: URL;
  try {
    url = new URL(sent);
  } catch {
    return fallback;
  }
  const ok = url.origin === origin && url.href === sent && !url.username && !url.password && sent.length <= MAX_LENGTH;
  return ok ? sent : fallback;
}

/** A same-origin path, normalised, or undefined. */
function safePath(raw: string): string | undefined {
  // Defence in depth on the input: its decoded forms must not hide a slash trick either.
  const forms = decodedForms(raw);
  if (!forms) return undefined;
  for (const form of forms) {
    if (!form.startsWith('/') || form.startsWith('//') || RAW_REFUSED.test(form)) return undefined;
  }
  // The structural check: normalise, then judge the very string that will be sent.
  const sent = normalise(raw);
  if (sent === undefined || !isSafeReturnPath(sent)) return undefined;
  // Encoded dot segments and slashes can still decode into `//host` in a later hop (a proxy or
  // a framework that decodes the path); refuse them in the normalised value too.
  for (const form of decodedForms(sent) ?? []) {
    if (form.startsWith('//') || form.startsWith('/\\') || /(^|\/)\.{1,2}(\/|$)/.test(form.split(/[?#]/)[0] ?? ''))
      return undefined;
  }
  return sent.length <= MAX_LENGTH ? sent : undefined;
}

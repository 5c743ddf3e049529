/**
 * Only a same-origin path survives as a post-login destination; anything else becomes the default.
 * Refused: `//host`, `/\host`, absolute URLs, `javascript:`, encoded slashes or backslashes that
 * a browser would normalise into another host, control characters and look-alike slashes.
 */
export const DEFAULT_RETURN_TO = '/account';

export function safeReturnTo(raw: string | undefined, fallback = DEFAULT_RETURN_TO): string {
  if (!raw || raw.length > 512) return fallback;
  let decoded = raw;
  // Decode repeatedly so that %2F%2F and %252F%252F are judged like //.
  for (let i = 0; i < 3; i++) {
    try {
      const next = decodeURIComponent(decoded);
      if (next === decoded) break;
      decoded = next;
    } catch {
      return fallback;
    }
  }
  for (const candidate of [raw, decoded]) {
    if (!candidate.startsWith('/')) return fallback;
    if (candidate.startsWith('//') || candidate.startsWith('/\\')) return fallback;
    if (/[\\\u0000-\u0020\u007f-\u009f\u2000-\u206f\u2215\u2044\u29f8\uff0f\uff3c\ufe68\u3000]/.test(candidate)) return fallback;
  }
  // The final word: resolved against a throwaway origin, it must stay on that origin.
  try {
    const base = 'http://return-to.invalid';
    const url = new URL(raw, base);
    if (url.origin !== base) return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}

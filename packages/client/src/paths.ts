/**
 * The paths the client sends, built so that the request that leaves is exactly the one meant. A
 * URL parser (fetch's, any proxy's) resolves `.` and `..` segments, in any spelling (`%2e%2e`,
 * `.%2E`, a backslash, a tab inside a segment), before a request leaves: a subject, a provider or
 * an XT.COM path that held one would reach another subject or another route. So each part is
 * checked against what the contract allows (a TypeError otherwise), and the built URL is parsed
 * once more and must come out unchanged.
 */

/** The contract's Subject: 1 to 128 of `A-Z a-z 0-9 . _ : @ -`, never `.` or `..` alone. */
export const SUBJECT = /^(?!\.{1,2}$)[A-Za-z0-9._:@-]{1,128}$/;
/** A provider id: letters, digits, `_` and `-`. */
const PROVIDER = /^[A-Za-z0-9_-]{1,32}$/;
/** The contract's XtPath, with its leading slash: 1 to 12 segments of `A-Z a-z 0-9 . _ ~ -`. */
const XT_PATH = /^(\/[A-Za-z0-9._~-]+){1,12}$/;

export function subjectPath(sub: string): string {
  if (typeof sub !== 'string' || !SUBJECT.test(sub))
    throw new TypeError('sub must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (and not "." or "..")');
  return `/v1/subjects/${sub}`;
}

export function providerSegment(provider: string): string {
  if (typeof provider !== 'string' || !PROVIDER.test(provider))
    throw new TypeError('provider must be 1 to 32 characters of A-Z a-z 0-9 _ -');
  return provider;
}

/** An XT.COM path: `/spot/v4/balances`, sent as is; no `.` or `..` segment, nothing percent-encoded. */
export function xtPath(path: string): string {
  const segments = typeof path === 'string' ? path.split('/').slice(1) : [];
  if (
    typeof path !== 'string' ||
    path.length > 256 ||
    !XT_PATH.test(path) ||
    segments.some((s) => s === '.' || s === '..')
  )
    throw new TypeError(
      'an XT.COM path is /segment/segment…: 1 to 12 segments of A-Z a-z 0-9 . _ ~ -, none of them "." or "..", no ? or #',
    );
  return path;
}

/** `url` as fetch will send it: throws when parsing would change its path (the last line of defence). */
export function unchangedUrl(url: string, path: string): string {
  const sent = new URL(url);
  if (!sent.pathname.endsWith(path)) throw new TypeError(`the request path would change on the way out: ${path}`);
  return url;
}

/**
 * Expiry arithmetic. A JWT's `exp` claim is what the server enforces, so it wins; the
 * `expires_in` fields are a fallback whose unit the documents disagree on (XT_EXPIRES_IN_UNIT).
 */

/** The claims of a JWT, decoded but NOT verified: never use them for identity. */
export function decodeJwtClaims(token: string | undefined): Record<string, unknown> | undefined {
  if (typeof token !== 'string' || token.length > 16_384) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const json: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds-since-epoch `exp` → epoch ms, if it is a sane number. */
export function jwtExpiry(token: string | undefined): number | undefined {
  const exp = decodeJwtClaims(token)?.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= 0 || exp > 1e11) return undefined;
  return exp * 1000;
}

export function expiresInToMs(value: unknown, unit: 's' | 'ms'): number | undefined {
  const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return undefined;
  return unit === 's' ? n * 1000 : n;
}

/** When a token expires: its own `exp` first, then `expires_in` read in `unit`, else unknown. */
export function tokenExpiry(
  token: string | undefined,
  expiresIn: unknown,
  unit: 's' | 'ms',
  now: number,
): number | undefined {
  const fromExp = jwtExpiry(token);
  if (fromExp !== undefined) return fromExp;
  const ms = expiresInToMs(expiresIn, unit);
  return ms === undefined ? undefined : now + ms;
}

/**
 * The margin before expiry at which a token counts as stale: `skewMs` (default 60 s), or
 * 10% of the token's lifetime when that is shorter, so a 30-second token is not refreshed
 * on every request.
 */
export function refreshMargin(issuedAt: number, expiresAt: number, skewMs: number): number {
  const lifetime = Math.max(0, expiresAt - issuedAt);
  return Math.min(skewMs, lifetime * 0.1);
}

/** True when a token with that expiry should be refreshed before use. Unknown expiry: never by time. */
export function isStale(expiresAt: number | undefined, issuedAt: number, now: number, skewMs: number): boolean {
  if (expiresAt === undefined) return false;
  return now >= expiresAt - refreshMargin(issuedAt, expiresAt, skewMs);
}

export function isExpired(expiresAt: number | undefined, now: number): boolean {
  return expiresAt !== undefined && now >= expiresAt;
}

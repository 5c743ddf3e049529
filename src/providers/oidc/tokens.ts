/**
 * A token endpoint's answer, as openid-client hands it over (the ID token already validated), checked
 * further and reduced to a TokenResponse: no token too long, the access token's expiry on our own
 * clock, the ID token's azp, iat and acr, a short `sid`, and only the display claims.
 */
import type * as client from 'openid-client';
import { AppError } from '../../errors.js';
import { expiresInToMs, jwtExpiry } from '../../shared/expiry.js';
import type { TokenResponse } from '../types.js';
import type { OidcOperation } from './errors.js';

/** Display claims we keep, with a length cap each. Nothing else from the ID token (or userinfo) is stored. */
export const DISPLAY_CLAIMS = { sub: 255, name: 200, email: 254 } as const;
/** The longest provider session id (`sid`) kept. */
const MAX_SID_LENGTH = 255;
const MAX_TOKEN_LENGTH = 16_384;

export type TokenSet = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

/** What the checks compare the answer with. */
export interface TokenChecks {
  /** The provider's id, named in the errors. */
  provider: string;
  clientId: string;
  clockToleranceSec: number;
  /** OIDC_REQUIRE_ACR: the acr values a login must reach. */
  requiredAcr?: string[];
  now: () => number;
}

/** The answer to `op`, checked and reduced; an AppError (id_token_invalid, provider_bad_response) when a check fails. */
export function normaliseTokens(t: TokenSet, op: OidcOperation, o: TokenChecks): TokenResponse {
  const tooLong = [t.access_token, t.refresh_token, t.id_token].some(
    (v) => typeof v === 'string' && v.length > MAX_TOKEN_LENGTH,
  );
  if (tooLong)
    throw new AppError('provider_bad_response', { provider: o.provider, detail: { op, reason: 'token too long' } });
  const now = o.now();
  // expires_in is relative, so it is read against our own clock (immune to skew with the provider's);
  // a JWT access token's exp is the fallback.
  const ttl = expiresInToMs(t.expires_in, 's');
  const idClaims = t.claims(); // already validated by openid-client; undefined when no ID token came
  const invalid = (reason: string, claim: string) =>
    new AppError('id_token_invalid', { provider: o.provider, detail: { op, reason, claim } });
  // openid-client checks azp only when aud lists several audiences; OIDC Core 3.1.3.7 says a
  // present azp should name us in any case (CIAM sends azp = client_id with a single aud).
  if (idClaims?.azp !== undefined && idClaims.azp !== o.clientId) throw invalid('claim mismatch', 'azp');
  // openid-client checks exp and nbf with the tolerance, but not an iat in the future (a clock that drifted, or a forgery).
  if (idClaims && idClaims.iat > now / 1000 + o.clockToleranceSec) throw invalid('iat in the future', 'iat');
  // OIDC_REQUIRE_ACR: the authentication must be one of the levels asked for in acr_values.
  const acr = idClaims?.acr;
  if (op === 'authorization_code' && o.requiredAcr && !(typeof acr === 'string' && o.requiredAcr.includes(acr))) {
    throw invalid('acr not satisfied', 'acr');
  }
  const sid = idClaims?.sid;
  return {
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    idToken: t.id_token,
    accessExpiresAt: ttl !== undefined ? now + ttl : jwtExpiry(t.access_token),
    refreshExpiresAt: t.refresh_token ? jwtExpiry(t.refresh_token) : undefined,
    scope: typeof t.scope === 'string' ? t.scope.slice(0, 1024) : undefined,
    userId: typeof idClaims?.sub === 'string' ? idClaims.sub.slice(0, DISPLAY_CLAIMS.sub) : undefined,
    claims: idClaims ? displayClaims(idClaims) : undefined,
    sid: typeof sid === 'string' && sid.length > 0 && sid.length <= MAX_SID_LENGTH ? sid : undefined,
  };
}

/** The display claims (DISPLAY_CLAIMS) of an ID token or a userinfo answer, each cut to its cap. */
export function displayClaims(claims: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, max] of Object.entries(DISPLAY_CLAIMS)) {
    const v = claims[name];
    if (typeof v === 'string' && v.length > 0) out[name] = v.slice(0, max);
  }
  return out;
}

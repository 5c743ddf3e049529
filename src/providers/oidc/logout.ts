/**
 * OpenID Connect Back-Channel Logout 1.0: the logout token a provider POSTs to
 * /auth/oidc/backchannel-logout, checked as its section 2.6 says (with jose, against the
 * provider's JWKS from discovery):
 *  - a JWS signed with an asymmetric algorithm (`none` and HS* are refused), by a key of the JWKS;
 *  - `iss` the discovered issuer, `aud` naming our client;
 *  - `iat` present and not in the future beyond the clock tolerance; `exp`, when present, not past
 *    (without `exp`, the token is good for LOGOUT_TOKEN_MAX_AGE_S after `iat`);
 *  - `events` holding the back-channel logout event, an object;
 *  - no `nonce` (so an ID token is never taken for a logout token);
 *  - `sid` and/or `sub`, and a `jti` (single use: the caller spends it in the shared store).
 * A bad token is an answer ({ ok: false, reason }); only a JWKS that cannot be fetched throws.
 */
import * as jose from 'jose';
import { AppError } from '../../errors.js';
import { TransportFailure, transportAppError } from '../transport.js';
import type { LogoutTokenCheck } from '../types.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** The longest a logout token is accepted after its `iat`, whatever its `exp` says (its jti is remembered that long). */
export const LOGOUT_TOKEN_MAX_LIFE_S = 24 * 3600;

/** A logout token without `exp` is accepted this long after its `iat` (oidc-provider gives its tokens 120 s). */
export const LOGOUT_TOKEN_MAX_AGE_S = 120;

/** The signature algorithms a logout token may use: asymmetric ones only. */
export const LOGOUT_TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

const MAX_ID_LENGTH = 255;
const MAX_TOKEN_LENGTH = 16_384;

export interface LogoutTokenExpectations {
  /** The issuer named in the discovered metadata. */
  issuer: string;
  clientId: string;
  toleranceSec: number;
  /** Ms since the epoch. */
  now: number;
}

const refuse = (reason: string): LogoutTokenCheck => ({ ok: false, reason });

/** A name jose gives a failed check, as a short phrase (never any part of the token). */
function joseReason(err: unknown): string | undefined {
  if (err instanceof jose.errors.JWTExpired) return 'expired';
  if (err instanceof jose.errors.JWTClaimValidationFailed) {
    const claim = /^[a-z_]{1,20}$/.test(err.claim) ? err.claim : 'claim';
    if (err.reason === 'missing') return `no ${claim}`;
    return claim === 'nbf' ? 'not yet valid' : `${claim} mismatch`;
  }
  if (err instanceof jose.errors.JOSEAlgNotAllowed || err instanceof jose.errors.JOSENotSupported)
    return 'algorithm not allowed';
  if (err instanceof jose.errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof jose.errors.JWKSNoMatchingKey || err instanceof jose.errors.JWKSMultipleMatchingKeys)
    return 'no matching signing key';
  if (err instanceof jose.errors.JWSInvalid || err instanceof jose.errors.JWTInvalid) return 'malformed';
  return undefined;
}

/** A JWKS that could not be fetched: the provider's trouble, not the token's. */
function jwksTrouble(err: unknown): AppError | undefined {
  for (let e: unknown = err, i = 0; e && i < 6; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof TransportFailure) return transportAppError(e, 'oidc', { op: 'jwks' });
  }
  if (err instanceof jose.errors.JWKSTimeout)
    return new AppError('provider_timeout', { provider: 'oidc', detail: { op: 'jwks', reason: 'timeout' } });
  if (
    err instanceof jose.errors.JWKSInvalid ||
    (err instanceof jose.errors.JOSEError && err.code === 'ERR_JOSE_GENERIC')
  ) {
    return new AppError('provider_unavailable', { provider: 'oidc', detail: { op: 'jwks', reason: 'unusable JWKS' } });
  }
  return undefined;
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;

/** A back-channel logout token, checked in three steps: its header, its signature, its claims. */
export async function checkLogoutToken(
  token: string,
  keys: jose.JWTVerifyGetKey,
  expect: LogoutTokenExpectations,
): Promise<LogoutTokenCheck> {
  const refusal = checkHeader(token);
  if (refusal) return refusal;
  const verified = await verifiedPayload(token, keys, expect);
  if ('ok' in verified) return verified;
  return checkClaims(verified.payload, expect);
}

/** The token's shape and its header's algorithm, before any key is looked up; undefined when both are fine. */
function checkHeader(token: string): LogoutTokenCheck | undefined {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return refuse('malformed');
  let header: jose.ProtectedHeaderParameters;
  try {
    header = jose.decodeProtectedHeader(token);
  } catch {
    return refuse('malformed');
  }
  // Said before any key is looked up: `none` and HS* never get as far as the JWKS.
  if (typeof header.alg !== 'string' || !LOGOUT_TOKEN_ALGORITHMS.includes(header.alg))
    return refuse('algorithm not allowed');
  return undefined;
}

/** The signature (by a key of the JWKS), iss, aud, and iat and jti present: the payload, or why not. Throws when the JWKS cannot be had. */
async function verifiedPayload(
  token: string,
  keys: jose.JWTVerifyGetKey,
  expect: LogoutTokenExpectations,
): Promise<{ payload: jose.JWTPayload } | LogoutTokenCheck> {
  try {
    const { payload } = await jose.jwtVerify(token, keys, {
      algorithms: LOGOUT_TOKEN_ALGORITHMS,
      issuer: expect.issuer,
      audience: expect.clientId,
      requiredClaims: ['iat', 'jti'],
      clockTolerance: expect.toleranceSec,
      currentDate: new Date(expect.now),
    });
    return { payload };
  } catch (err) {
    const trouble = jwksTrouble(err);
    if (trouble) throw trouble;
    return refuse(joseReason(err) ?? 'unverifiable');
  }
}

/** The claims of a verified token, as section 2.6 asks: its age, the event, no nonce, and the ids. */
function checkClaims(payload: jose.JWTPayload, expect: LogoutTokenExpectations): LogoutTokenCheck {
  const nowSec = expect.now / 1000;
  const { iat, exp, jti, sid, sub, events, nonce } = payload;
  if (typeof iat !== 'number' || iat > nowSec + expect.toleranceSec) return refuse('iat in the future');
  // A logout token is sent when the session ends: one issued long ago (or valid for long) is not
  // one we can remember having seen, since its jti is kept for LOGOUT_TOKEN_MAX_LIFE_S at most.
  if (iat < nowSec - LOGOUT_TOKEN_MAX_LIFE_S) return refuse('iat too old');
  if (typeof exp === 'number' && exp > iat + LOGOUT_TOKEN_MAX_LIFE_S) return refuse('exp too far after iat');
  if (exp === undefined && iat + LOGOUT_TOKEN_MAX_AGE_S < nowSec - expect.toleranceSec) return refuse('expired');
  const event = (events as Record<string, unknown> | undefined)?.[BACKCHANNEL_LOGOUT_EVENT];
  if (
    typeof events !== 'object' ||
    events === null ||
    typeof event !== 'object' ||
    event === null ||
    Array.isArray(event)
  ) {
    return refuse('no back-channel logout event');
  }
  if (nonce !== undefined) return refuse('nonce present');
  if (sid !== undefined && !isId(sid)) return refuse('bad sid');
  if (sub !== undefined && !isId(sub)) return refuse('bad sub');
  if (sid === undefined && sub === undefined) return refuse('neither sid nor sub');
  if (!isId(jti)) return refuse('bad jti');
  return {
    ok: true,
    sid,
    sub,
    jti,
    expiresAt: ((typeof exp === 'number' ? exp : iat + LOGOUT_TOKEN_MAX_AGE_S) + expect.toleranceSec) * 1000,
  };
}

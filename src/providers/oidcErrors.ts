/**
 * openid-client / oauth4webapi errors → AppError.
 *
 * Their error objects carry the HTTP Response, the parsed token response body (tokens!),
 * the decoded ID token claims and endpoint URLs in `cause`. None of that may reach a log
 * line or a page, so this module reads a few plain facts off the error (an RFC 6749 error
 * code, an HTTP status, which check failed) and builds a fresh AppError from them. The
 * original error object is dropped here.
 */
import * as client from 'openid-client';
import { AppError, type Detail } from '../errors.js';
import { TransportFailure } from './boundedFetch.js';

export type OidcOperation = 'discovery' | 'jwks' | 'authorization_code' | 'refresh_token' | 'revocation';

/** RFC 6749 §5.2: the grant (code or refresh token) is dead. The person must connect again. */
const GRANT_DEAD = new Set(['invalid_grant']);
/** RFC 6749 §5.2: our client registration or request is wrong; nothing the person can fix. */
const OUR_FAULT = new Set(['invalid_client', 'unauthorized_client', 'invalid_request', 'unsupported_grant_type', 'invalid_scope', 'unsupported_token_type']);
/** RFC 6749 §4.1.2.1 codes a server also uses at the token endpoint when it is struggling. */
const THEIR_TROUBLE = new Set(['server_error', 'temporarily_unavailable']);

/** oauth4webapi codes that mean an ID token failed a check (signature, claims, timestamps). */
const ID_TOKEN_CODES = new Set(['OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'OAUTH_KEY_SELECTION_FAILED']);
/** oauth4webapi codes that mean our configuration or the provider's metadata is unusable. */
const CONFIG_CODES = new Set([
  'OAUTH_HTTP_REQUEST_FORBIDDEN',
  'OAUTH_REQUEST_PROTOCOL_FORBIDDEN',
  'OAUTH_MISSING_SERVER_METADATA',
  'OAUTH_INVALID_SERVER_METADATA',
  'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED', // discovery: the issuer in the metadata is not ours
]);

const safeCode = (v: unknown) => (typeof v === 'string' && /^[a-z0-9_]{1,64}$/i.test(v) ? v : 'unknown');

/** The error and its `cause` chain (bounded), so wrapped library errors can be recognised. */
function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e && out.length < 6; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

const codeOf = (e: unknown) => (e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined);
const messageOf = (e: unknown) => (e instanceof Error ? e.message : '');

/** Which ID token check failed, as a plain claim name, when the library says. */
function failedClaim(errors: unknown[]): string | undefined {
  for (const e of errors) {
    const claim = (e as { claim?: unknown } | null)?.claim;
    if (typeof claim === 'string' && /^[a-z_]{1,20}$/.test(claim)) return claim;
  }
  return undefined;
}

export function toOidcAppError(err: unknown, op: OidcOperation, provider = 'oidc'): AppError {
  const errors = chain(err);
  const afterCode = op === 'authorization_code' ? ({ next: 'login' } as const) : {};
  const fail = (code: ConstructorParameters<typeof AppError>[0], status: number, detail: Detail, extra: { next?: 'login' | 'retry' } = {}) =>
    new AppError(code, status, { provider, ...extra, detail: { op, ...detail } });

  // 1. Our own transport wrapper: timeouts, refused connections, oversized bodies.
  const transport = errors.find((e): e is TransportFailure => e instanceof TransportFailure);
  if (transport) {
    if (transport.kind === 'timeout') return fail('provider_timeout', 504, { reason: 'timeout', elapsedMs: transport.elapsedMs });
    if (transport.kind === 'too_large') return fail('provider_bad_response', 502, { reason: 'response too large' });
    return fail('provider_unavailable', 502, { reason: 'network', transport: transport.transport, elapsedMs: transport.elapsedMs });
  }

  // 2. An RFC 6749 error body ({"error": "invalid_grant"}) from the token or revocation endpoint.
  const body = errors.find((e): e is client.ResponseBodyError => e instanceof client.ResponseBodyError);
  if (body) {
    const error = safeCode(body.error);
    const detail = { error, httpStatus: body.status };
    if (GRANT_DEAD.has(error)) return fail('provider_rejected', 502, detail, afterCode);
    if (OUR_FAULT.has(error)) return fail('provider_misconfigured', 502, detail);
    if (THEIR_TROUBLE.has(error) || body.status >= 500 || body.status === 429) return fail('provider_unavailable', 502, detail);
    return fail('provider_bad_response', 502, detail);
  }

  // 3. A 401 with WWW-Authenticate: the token endpoint did not accept our client authentication.
  const challenge = errors.find((e): e is client.WWWAuthenticateChallengeError => e instanceof client.WWWAuthenticateChallengeError);
  if (challenge) {
    const error = safeCode(challenge.cause[0]?.parameters.error);
    const detail = { error, httpStatus: challenge.status };
    return GRANT_DEAD.has(error) ? fail('provider_rejected', 502, detail, afterCode) : fail('provider_misconfigured', 502, detail);
  }

  // 4. Library errors, recognised by their code (never by the objects they carry).
  const coded = errors.find((e) => codeOf(e)?.startsWith('OAUTH_'));
  const code = codeOf(coded) ?? 'none';
  const messages = errors.map(messageOf).join(' | ');
  if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') return fail('provider_timeout', 504, { reason: 'timeout' });
  if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') {
    const status = errors.map((e) => (e instanceof Response ? e.status : undefined)).find((s) => s !== undefined) ?? 0;
    if (status >= 500 || status === 429) return fail('provider_unavailable', 502, { reason: 'http error', httpStatus: status });
    if (status === 404 || status === 405) return fail('provider_misconfigured', 502, { reason: 'endpoint not found', httpStatus: status });
    return fail('provider_bad_response', 502, { reason: 'unexpected status', httpStatus: status });
  }
  if (code === 'OAUTH_RESPONSE_IS_NOT_JSON') return fail('provider_bad_response', 502, { reason: 'not JSON' });
  if (CONFIG_CODES.has(code)) return fail('provider_misconfigured', 502, { reason: 'configuration', oauthCode: code });
  if (/response parameter/.test(messages)) {
    // The callback itself is wrong (RFC 9207 `iss` from another issuer: a mix-up attempt).
    return fail('provider_bad_response', 400, { reason: 'authorization response', oauthCode: code }, { next: 'login' });
  }
  if (ID_TOKEN_CODES.has(code) || /\bJWT\b|\bJWS\b|ID Token|id_token/.test(messages)) {
    return fail('id_token_invalid', 502, { reason: idTokenReason(code, messages), claim: failedClaim(errors), oauthCode: code }, { next: 'login' });
  }
  // Unrecognised: keep the error's class name (a plain identifier) so the operator has a lead.
  const type = errors[0] instanceof Error && /^\w{1,40}$/.test(errors[0].name) ? errors[0].name : typeof errors[0];
  return fail('provider_bad_response', 502, { reason: 'unusable response', oauthCode: code, type });
}

function idTokenReason(code: string, messages: string): string {
  if (code === 'OAUTH_KEY_SELECTION_FAILED') return 'no matching signing key';
  if (/signature verification failed/.test(messages)) return 'bad signature';
  if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') return 'expired or not yet valid';
  if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED') return 'claim mismatch';
  if (/"id_token" property/.test(messages)) return 'missing';
  if (/claim (missing|type)/.test(messages)) return 'missing or mistyped claim';
  if (/alg|algorithm/i.test(messages)) return 'unexpected algorithm';
  return 'malformed';
}

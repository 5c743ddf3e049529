/**
 * openid-client / oauth4webapi errors → AppError.
 *
 * Their error objects carry the HTTP Response, the parsed token response body (tokens!),
 * the decoded ID token claims and endpoint URLs in `cause`. None of that may reach a log
 * line or a page, so this module reads a few plain facts off the error (an RFC 6749 error
 * code, an HTTP status, which check failed) and builds a fresh AppError from them. The
 * original error object is dropped here.
 */
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { AppError, type Detail, type ErrorCode } from '../../errors.js';
import { TransportFailure, transportAppError } from '../transport.js';

export type OidcOperation = 'discovery' | 'jwks' | 'authorization_code' | 'refresh_token' | 'revocation' | 'userinfo';

/** RFC 6749 §5.2: the grant (code or refresh token) is dead. The person must connect again. */
const GRANT_DEAD = new Set(['invalid_grant']);
/** RFC 6749 §5.2: our client registration or request is wrong; nothing the person can fix. */
const OUR_FAULT = new Set([
  'invalid_client',
  'unauthorized_client',
  'invalid_request',
  'unsupported_grant_type',
  'invalid_scope',
  'unsupported_token_type',
]);
/** RFC 6749 §4.1.2.1 codes a server also uses at the token endpoint when it is struggling. */
const THEIR_TROUBLE = new Set(['server_error', 'temporarily_unavailable']);

/** oauth4webapi codes that mean our configuration or the provider's metadata is unusable. */
const CONFIG_CODES = new Set<string>([
  oauth.HTTP_REQUEST_FORBIDDEN,
  oauth.REQUEST_PROTOCOL_FORBIDDEN,
  oauth.MISSING_SERVER_METADATA,
  oauth.INVALID_SERVER_METADATA,
  oauth.JSON_ATTRIBUTE_COMPARISON, // discovery: the issuer in the metadata is not ours
]);

const safeCode = (v: unknown) => (typeof v === 'string' && /^[a-z0-9_]{1,64}$/i.test(v) ? v : 'unknown');

/** The error and its `cause` chain (bounded), so wrapped library errors can be recognised. */
function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e && out.length < 6; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** oauth4webapi's processing error (openid-client wraps it in a ClientError whose cause it is), recognised by its class; its `cause` is a plain object whose keys say what was checked. */
type Processing = oauth.OperationProcessingError & { cause?: Record<string, unknown> };
const isProcessing = (e: unknown): e is Processing => e instanceof oauth.OperationProcessingError;
/** The `code` of an openid-client or oauth4webapi error, read only off those classes. */
function libraryCode(e: unknown): string | undefined {
  if (!(e instanceof client.ClientError) && !(e instanceof oauth.OperationProcessingError)) return undefined;
  return typeof e.code === 'string' && /^OAUTH_[A-Z_]{1,60}$/.test(e.code) ? e.code : undefined;
}
const causeHas = (e: Processing, key: string) => !!e.cause && typeof e.cause === 'object' && key in e.cause;

/** Which ID token claim failed a check, as a plain claim name, when the library says. */
function failedClaim(e: Processing): string | undefined {
  const claim = e.cause?.claim;
  return typeof claim === 'string' && /^[a-z_]{1,20}$/.test(claim) ? claim : undefined;
}

/** Why an ID token was refused, read from the processing error's code and the shape of its cause. */
function idTokenReason(e: Processing): string | undefined {
  if (e.code === oauth.KEY_SELECTION) return 'no matching signing key';
  if (e.code === oauth.JWT_TIMESTAMP_CHECK && failedClaim(e) === 'auth_time') return 'authentication too old';
  if (e.code === oauth.JWT_TIMESTAMP_CHECK) return 'expired or not yet valid';
  if (e.code === oauth.JWT_CLAIM_COMPARISON) return 'claim mismatch';
  if (e.code !== oauth.INVALID_RESPONSE) return undefined;
  if (causeHas(e, 'signature')) return 'bad signature';
  if (causeHas(e, 'header')) return 'unexpected algorithm';
  if (causeHas(e, 'claims') || causeHas(e, 'claim')) return 'missing or mistyped claim';
  if (causeHas(e, 'body') && (e.cause?.body as { id_token?: unknown } | undefined)?.id_token === undefined)
    return 'missing';
  return undefined;
}

/** How a recognised failure becomes an AppError: its code, and plain details beside the operation. */
type Fail = (code: ErrorCode, detail: Detail) => AppError;

/** A plain AppError for what openid-client threw during `op`: the first of the steps below that recognises it wins. */
export function toOidcAppError(err: unknown, op: OidcOperation, provider = 'oidc'): AppError {
  const errors = chain(err);
  const fail: Fail = (code, detail) => new AppError(code, { provider, detail: { op, ...detail } });

  // 1. Our own transport wrapper: timeouts, refused connections, oversized bodies.
  const transport = errors.find((e): e is TransportFailure => e instanceof TransportFailure);
  if (transport) return transportAppError(transport, provider, { op });

  // 2–3. The endpoint answered with an OAuth error.
  const answered = oauthErrorAnswer(errors, fail);
  if (answered) return answered;

  // 4. An algorithm the library does not support (in an ID token header): refused.
  if (errors.some((e) => e instanceof oauth.UnsupportedOperationError)) {
    return fail(op === 'authorization_code' || op === 'refresh_token' ? 'id_token_invalid' : 'provider_misconfigured', {
      reason: 'unexpected algorithm',
      oauthCode: 'unsupported',
    });
  }

  // 5. Whatever else the library found wrong.
  return libraryFailure(errors, fail);
}

/** 2–3: an RFC 6749 error body, or a 401 challenge, from the token or revocation endpoint; undefined when neither. */
function oauthErrorAnswer(errors: unknown[], fail: Fail): AppError | undefined {
  // 2. An RFC 6749 error body ({"error": "invalid_grant"}) from the token or revocation endpoint.
  const body = errors.find((e): e is client.ResponseBodyError => e instanceof client.ResponseBodyError);
  if (body) {
    const error = safeCode(body.error);
    const detail = { error, httpStatus: body.status };
    if (GRANT_DEAD.has(error)) return fail('provider_rejected', detail);
    if (OUR_FAULT.has(error)) return fail('provider_misconfigured', detail);
    if (THEIR_TROUBLE.has(error) || body.status >= 500 || body.status === 429)
      return fail('provider_unavailable', detail);
    return fail('provider_bad_response', detail);
  }

  // 3. A 401 with WWW-Authenticate: the token endpoint did not accept our client authentication.
  const challenge = errors.find(
    (e): e is client.WWWAuthenticateChallengeError => e instanceof client.WWWAuthenticateChallengeError,
  );
  if (challenge) {
    const error = safeCode(challenge.cause[0]?.parameters.error);
    const detail = { error, httpStatus: challenge.status };
    return GRANT_DEAD.has(error) ? fail('provider_rejected', detail) : fail('provider_misconfigured', detail);
  }
  return undefined;
}

/**
 * 5. Processing errors, recognised by their class and `code`, and by the keys of their cause.
 * openid-client rethrows oauth4webapi's as a ClientError with the same code (sometimes with
 * the original as its cause, sometimes with only the HTTP Response). Unrecognised: a bad response.
 */
function libraryFailure(errors: unknown[], fail: Fail): AppError {
  const processing = errors.find(isProcessing);
  const code = errors.map(libraryCode).find((c) => c !== undefined) ?? 'none';
  if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') return fail('provider_timeout', { reason: 'timeout' });
  if (code === oauth.RESPONSE_IS_NOT_CONFORM) {
    const status = errors.map((e) => (e instanceof Response ? e.status : undefined)).find((s) => s !== undefined) ?? 0;
    if (status >= 500 || status === 429)
      return fail('provider_unavailable', { reason: 'http error', httpStatus: status });
    if (status === 404 || status === 405)
      return fail('provider_misconfigured', { reason: 'endpoint not found', httpStatus: status });
    return fail('provider_bad_response', { reason: 'unexpected status', httpStatus: status });
  }
  if (code === oauth.RESPONSE_IS_NOT_JSON) return fail('provider_bad_response', { reason: 'not JSON' });
  if (CONFIG_CODES.has(code)) return fail('provider_misconfigured', { reason: 'configuration', oauthCode: code });
  if (processing && causeHas(processing, 'parameters')) {
    // The callback itself is wrong (RFC 9207 `iss` from another issuer: a mix-up attempt).
    return fail('callback_invalid', { reason: 'authorization response', oauthCode: code });
  }
  const reason = processing && idTokenReason(processing);
  if (processing && reason)
    return fail('id_token_invalid', { reason, claim: failedClaim(processing), oauthCode: code });
  // Unrecognised: keep the error's class name (a plain identifier) so the operator has a lead.
  const type = errors[0] instanceof Error && /^\w{1,40}$/.test(errors[0].name) ? errors[0].name : typeof errors[0];
  return fail('provider_bad_response', { reason: 'unusable response', oauthCode: code, type });
}

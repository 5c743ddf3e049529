/**
 * The XT.COM stand-in's tokens: RS256 JWTs with `exp` (unless told to leave it out) and a jti,
 * issued as the token endpoint's result, and checked when a user API presents one.
 */
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import type { XtState } from './state.js';

/**
 * One RSA key per process, shared by every stand-in it starts: making a key takes a few hundred
 * milliseconds, and the tests start a fresh stand-in each. Tokens stay distinct (each has a jti).
 */
let sharedKey: Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> | undefined;
export const processSigningKey = () => (sharedKey ??= jose.generateKeyPair('RS256'));

async function jwt(state: XtState, claims: Record<string, unknown>, ttlSec: number): Promise<string> {
  const b = new jose.SignJWT({ ...claims, jti: randomBytes(8).toString('hex'), epoch: state.accessEpoch })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer('xt.com')
    .setSubject('1');
  b.setIssuedAt(Math.floor(state.now() / 1000));
  if (!state.options.omitExp) b.setExpirationTime(Math.floor(state.now() / 1000) + ttlSec);
  const token = await b.sign(state.key.privateKey);
  state.issued.push(token);
  return token;
}

/**
 * The token endpoint's `result`: a new access token, and a new refresh token unless this is a
 * refresh and rotation is off (the refresh token used, `oldRefresh`, then stops working).
 */
export async function issueTokens(
  state: XtState,
  userId: string,
  scope: string,
  includeUser: boolean,
  oldRefresh?: string,
): Promise<Record<string, unknown>> {
  const { options } = state;
  const claims = { 'user-id': Number(userId) || userId, scope, client_id: options.clientId };
  const access = await jwt(state, { ...claims, typ: 'access' }, options.accessTtlSec);
  let refresh: string | undefined;
  if (!oldRefresh || options.rotateRefreshTokens) {
    refresh = await jwt(state, { ...claims, typ: 'refresh' }, options.refreshTtlSec);
    state.refreshTokens.set(refresh, { userId, scope, expiresAt: state.now() + options.refreshTtlSec * 1000 });
    if (oldRefresh) state.refreshTokens.delete(oldRefresh);
  }
  const unit = options.expiresInUnit === 'ms' ? 1000 : 1;
  return {
    ...(includeUser ? { user_id: userId } : {}),
    access_token: access,
    ...(refresh ? { refresh_token: refresh } : {}),
    expires_in: options.accessTtlSec * unit - 1,
    ...(refresh ? { refresh_expires_in: options.refreshTtlSec * unit - 1 } : {}),
    client_id: options.clientId,
    scope,
  };
}

/** The XT.COM user id an access token stands for, or undefined when XT.COM would refuse it. */
export async function verifyAccessToken(state: XtState, token: string | undefined): Promise<string | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jose.jwtVerify(token, state.key.publicKey, {
      issuer: 'xt.com',
      currentDate: new Date(state.now()),
    });
    if (payload.typ !== 'access' || (payload.epoch as number) < state.accessEpoch) return undefined;
    return String(payload['user-id']);
  } catch {
    return undefined;
  }
}

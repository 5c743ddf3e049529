/**
 * The CIAM stand-in's RS256 signing keys: making them, and signing with the current one (the
 * tests' logout tokens, and ID tokens re-signed after tampering).
 */
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import type { IdTokenTamper } from '../oidc.js';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: jose.JWK;
}

export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const jwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk };
}

/**
 * The first signing key is shared by every stand-in in the process: an RSA key takes a few
 * hundred milliseconds to make, and the tests start a fresh stand-in each. rotateKeys() makes
 * keys of the stand-in's own.
 */
let firstKey: Promise<SigningKey> | undefined;
export const processFirstKey = (): Promise<SigningKey> => (firstKey ??= newSigningKey());

/** A JWT signed with the current key (`keys[0]`): RS256, its kid, and `header` merged in. */
export function signWithCurrentKey(
  keys: SigningKey[],
  payload: jose.JWTPayload,
  header: Partial<jose.JWTHeaderParameters> = {},
): Promise<string> {
  const current = keys[0]!;
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: current.kid, ...header })
    .sign(current.privateKey);
}

/** `idToken` changed as asked, and signed again: with the current key, or a rogue one under the current kid. */
export async function tamperIdToken(keys: SigningKey[], idToken: string, change: IdTokenTamper): Promise<string> {
  const claims = jose.decodeJwt(idToken);
  const current = keys[0]!;
  if (change === 'bad_signature') {
    // Same kid, same claims, someone else's key: only the signature check can catch it.
    const rogue = await newSigningKey();
    return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: current.kid }).sign(rogue.privateKey);
  }
  const next = typeof change === 'function' ? change(claims) : { ...claims, ...change };
  return signWithCurrentKey(keys, next);
}

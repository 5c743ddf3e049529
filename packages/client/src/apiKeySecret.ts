/**
 * Opening an API secret that xt-connect sealed: `POST /v1/subjects/{sub}/xt/user/account/api-key`
 * answers with `secretKey` as a compact JWE to the institution's public key
 * (SERVICE_API_KEY_RECIPIENT), ECDH-ES+A256KW (EC P-256) or RSA-OAEP-256 (RSA), with A256GCM.
 * Only those algorithms are accepted, so a JWE made any other way (a `dir` key, a weaker wrap) is
 * refused rather than opened.
 */
import type { KeyObject } from 'node:crypto';
import { type JWK, compactDecrypt, importJWK } from 'jose';

const KEY_MANAGEMENT = ['ECDH-ES+A256KW', 'RSA-OAEP-256'];
const CONTENT_ENCRYPTION = ['A256GCM'];

/** The private key that opens a sealed secret: a private JWK (with `d`), a KeyObject or a CryptoKey. */
export type ApiKeyPrivateKey = JWK | KeyObject | CryptoKey;

async function keyFor(privateKey: ApiKeyPrivateKey, alg: string): Promise<KeyObject | CryptoKey | Uint8Array> {
  if (typeof (privateKey as { type?: unknown }).type === 'string' && !('kty' in privateKey)) {
    return privateKey as KeyObject | CryptoKey;
  }
  const jwk = privateKey as JWK;
  if (typeof jwk.d !== 'string') throw new TypeError('openApiKeySecret needs the private key (a JWK with "d")');
  return importJWK(jwk, alg);
}

/**
 * The clear API secret in `jwe` (the `secretKey` of the answer), opened with the private key that
 * belongs to SERVICE_API_KEY_RECIPIENT. Throws when the JWE is malformed, made for another key or
 * with another algorithm, or altered.
 */
export async function openApiKeySecret(jwe: string, privateKey: ApiKeyPrivateKey): Promise<string> {
  if (typeof jwe !== 'string' || jwe.split('.').length !== 5) throw new TypeError('not a compact JWE');
  const header = JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString('utf8')) as { alg?: unknown };
  if (typeof header.alg !== 'string' || !KEY_MANAGEMENT.includes(header.alg))
    throw new TypeError(`unexpected JWE algorithm; expected one of ${KEY_MANAGEMENT.join(', ')}`);
  const { plaintext } = await compactDecrypt(jwe, await keyFor(privateKey, header.alg), {
    keyManagementAlgorithms: KEY_MANAGEMENT,
    contentEncryptionAlgorithms: CONTENT_ENCRYPTION,
  });
  return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
}

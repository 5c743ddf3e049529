/**
 * Key pairs for SERVICE_API_KEY_RECIPIENT (issue 26 §2): the institution's public key as the JWK
 * the variable takes, and the private key that opens what the app seals. Made once per test file.
 */
import { type KeyObject, generateKeyPairSync } from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader } from 'jose';

export interface RecipientPair {
  /** The value of SERVICE_API_KEY_RECIPIENT: the public JWK, as JSON. */
  env: string;
  publicJwk: Record<string, unknown>;
  privateJwk: Record<string, unknown>;
  privateKey: KeyObject;
}

const made = new Map<string, RecipientPair>();

/** An EC P-256 pair, an RSA pair of `bits` (default 2048), or a P-384 one; `kid` is put in the JWK when given. */
export function recipientPair(kind: 'EC' | 'RSA' | 'P-384', opts: { bits?: number; kid?: string } = {}): RecipientPair {
  const id = `${kind}/${opts.bits ?? ''}/${opts.kid ?? ''}`;
  const known = made.get(id);
  if (known) return known;
  const { publicKey, privateKey } =
    kind === 'RSA'
      ? generateKeyPairSync('rsa', { modulusLength: opts.bits ?? 2048 })
      : generateKeyPairSync('ec', { namedCurve: kind === 'EC' ? 'P-256' : 'P-384' });
  const kid = opts.kid === undefined ? {} : { kid: opts.kid };
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), ...kid } as Record<string, unknown>;
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), ...kid } as Record<string, unknown>;
  const pair = { env: JSON.stringify(publicJwk), publicJwk, privateJwk, privateKey };
  made.set(id, pair);
  return pair;
}

/** Opens a sealed secret with the pair's private key; also returns the JWE's protected header. */
export async function openSealed(jwe: string, pair: RecipientPair) {
  const { plaintext, protectedHeader } = await compactDecrypt(jwe, pair.privateKey);
  return { secret: new TextDecoder().decode(plaintext), header: protectedHeader ?? decodeProtectedHeader(jwe) };
}

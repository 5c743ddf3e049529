/**
 * SERVICE_API_KEY_RECIPIENT: the institution's public key, as a JWK (JSON), that every API secret
 * created through `POST /v1/subjects/{sub}/xt/user/account/api-key` is sealed to (a compact JWE;
 * see shared/apiKeySeal.ts). Binance's Fast API does the same with the partner's key: the secret
 * never exists in clear outside XT.COM and the institution.
 *
 * Accepted: EC P-256 (sealed with ECDH-ES+A256KW) or RSA of at least 2,048 bits (RSA-OAEP-256),
 * public members only. A JWK with a private member is refused at start, since a private key in the
 * environment of the very service the seal protects against defeats it. A problem never echoes the
 * value (it may be a private key).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

export type ApiKeySealAlg = 'ECDH-ES+A256KW' | 'RSA-OAEP-256';

export interface ApiKeyRecipient {
  /** The public key, as node:crypto imported it from the JWK. */
  key: KeyObject;
  alg: ApiKeySealAlg;
  /** The JWK's `kid`, or its RFC 7638 SHA-256 thumbprint: the JWE header's `kid`. */
  kid: string;
}

const NAME = 'SERVICE_API_KEY_RECIPIENT';
/** Members only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const MIN_RSA_BITS = 2048;
/** NIST SP 800-56B: e ≥ 65537, odd. */
const MIN_RSA_EXPONENT = 65537n;
const B64URL = /^[A-Za-z0-9_-]+$/;

type Jwk = Record<string, unknown>;

function parseJwk(text: string, problems: string[]): Jwk | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${NAME}: must be one public key as a JWK in JSON, e.g. {"kty":"EC","crv":"P-256","x":"…","y":"…"}`);
    return undefined;
  }
  return value as Jwk;
}

/** Why this JWK cannot be a recipient, or undefined. */
function jwkProblem(jwk: Jwk): string | undefined {
  if (PRIVATE_MEMBERS.some((m) => m in jwk))
    return 'holds a private key; give the public key only (the JWK without "d" and the other private members)';
  if (jwk.use !== undefined && jwk.use !== 'enc') return 'has "use" other than "enc"';
  if (jwk.kty === 'EC') {
    if (jwk.crv !== 'P-256') return 'an EC key must be on the curve P-256';
    if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return 'an EC key needs "x" and "y"';
    return undefined;
  }
  if (jwk.kty === 'RSA') {
    if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return 'an RSA key needs "n" and "e"';
    return undefined;
  }
  return 'must be an EC (P-256) or RSA key ("kty" "EC" or "RSA")';
}

/** RFC 7638: SHA-256 over the required members, in lexical order, without whitespace. */
export function jwkThumbprint(jwk: Jwk): string {
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members), 'utf8').digest('base64url');
}

function importPublic(jwk: Jwk): KeyObject | undefined {
  // jwkProblem has made sure these members are strings; only they are given to node:crypto.
  const names = jwk.kty === 'EC' ? ['crv', 'x', 'y'] : ['n', 'e'];
  const key: Record<string, string> = { kty: jwk.kty as string };
  for (const m of names) key[m] = jwk[m] as string;
  if (names.some((m) => m !== 'crv' && !B64URL.test(key[m]!))) return undefined;
  try {
    return createPublicKey({ key, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** The recipient SERVICE_API_KEY_RECIPIENT names, or undefined with a problem (never echoing the value). */
export function parseApiKeyRecipient(text: string, problems: string[]): ApiKeyRecipient | undefined {
  const jwk = parseJwk(text, problems);
  if (!jwk) return undefined;
  const problem = jwkProblem(jwk);
  if (problem) {
    problems.push(`${NAME}: ${problem}`);
    return undefined;
  }
  const key = importPublic(jwk);
  if (!key) {
    problems.push(`${NAME}: is not a valid ${String(jwk.kty)} public key`);
    return undefined;
  }
  const alg: ApiKeySealAlg = jwk.kty === 'EC' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256';
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (jwk.kty === 'RSA' && bits < MIN_RSA_BITS) {
    problems.push(`${NAME}: an RSA key must have at least ${MIN_RSA_BITS} bits (this one has ${bits})`);
    return undefined;
  }
  // A small or even exponent (e = 1 leaves the content key merely OAEP-padded: anyone opens it).
  const e = key.asymmetricKeyDetails?.publicExponent ?? 0n;
  if (jwk.kty === 'RSA' && (e < MIN_RSA_EXPONENT || e % 2n === 0n)) {
    problems.push(`${NAME}: an RSA key's public exponent "e" must be odd and at least 65537 ("AQAB")`);
    return undefined;
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    problems.push(`${NAME}: "alg" must be "${alg}" for this key, or absent`);
    return undefined;
  }
  const kid = typeof jwk.kid === 'string' && /^[\x21-\x7e]{1,128}$/.test(jwk.kid) ? jwk.kid : jwkThumbprint(jwk);
  return { key, alg, kid };
}

/**
 * The recipient when SERVICE_ALLOW_API_KEY_CREATION=true needs one. Since issue 26 creating keys
 * without a recipient stops the start: the secret would otherwise leave in clear.
 */
export function loadApiKeyRecipient(
  text: string | undefined,
  creation: boolean,
  problems: string[],
): ApiKeyRecipient | undefined {
  if (text === undefined) {
    if (creation)
      problems.push(
        `SERVICE_ALLOW_API_KEY_CREATION: needs ${NAME} (the institution's public key as a JWK, EC P-256 or RSA >= 2048 bits): a created API secret is only ever handed out sealed to it`,
      );
    return undefined;
  }
  return parseApiKeyRecipient(text, problems);
}

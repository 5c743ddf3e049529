/**
 * Seals the API secret in XT.COM's answer to `POST /user/account/api-key` before it goes anywhere:
 * every secret it holds becomes a compact JWE (RFC 7516) to the institution's public key
 * (SERVICE_API_KEY_RECIPIENT), ECDH-ES+A256KW or RSA-OAEP-256 with A256GCM, made with jose. Only
 * the holder of the private key can open it, so the secret is never in clear in our answer, a log
 * line, the store or a metric (none of those ever sees the answer before this has run).
 *
 * XT.COM's documents name the fields `accessKey` and `secretKey` in `result`, but its two envelopes
 * (`{rc, mc, result}` and `{returnCode, error, result}`) and its habit of adding fields leave where
 * the secret sits open. So every member whose name holds "secret" (any case, `_` or `-`: secretKey,
 * secret_key, apiSecret, …), at any depth, is sealed, and everything under it; and the answer fails
 * closed (nothing passes) when it cannot be read as JSON, when a success (`rc`/`returnCode` 0)
 * holds no secret we recognise, when a secret is not a string, or when a secret's clear text
 * still sits anywhere in the sealed answer (a copy under another name).
 */
import { CompactEncrypt } from 'jose';
import type { ApiKeyRecipient } from '../config/apiKeyRecipient.js';
import { AppError } from '../errors.js';

/** A compact JWE: five base64url parts, the second (the encrypted key) never empty for our algorithms. */
export const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const MAX_DEPTH = 32;
const ENC = 'A256GCM';

/** The answer cannot be handed out safely: XT.COM has made the key, but nothing of it passes. */
function unsealable(reason: string): AppError {
  return new AppError('provider_bad_response', {
    provider: 'xt',
    detail: { reason: `api-key answer not sealed: ${reason}`, path: '/user/account/api-key' },
  });
}

const isSecretName = (name: string) => name.toLowerCase().replace(/[_-]/g, '').includes('secret');

/** A place in the parsed answer that holds a clear secret. */
interface Slot {
  holder: Record<string, unknown> | unknown[];
  key: string | number;
  secret: string;
}

/** Collects the slots under `value`; `secret`: we are inside a secret-named member. */
function collect(value: unknown, secret: boolean, depth: number, slots: Slot[]): void {
  if (depth > MAX_DEPTH) throw unsealable('nested too deeply');
  if (value === null || typeof value !== 'object') return;
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  for (const [key, v] of entries) {
    const under = secret || (typeof key === 'string' && isSecretName(key));
    if (under && typeof v === 'string') slots.push({ holder: value as Slot['holder'], key, secret: v });
    else if (under && typeof v === 'number') throw unsealable('a secret that is not a string');
    else collect(v, under, depth + 1, slots);
  }
}

const succeeded = (body: Record<string, unknown>) => [body.rc, body.returnCode].some((c) => c === 0 || c === '0');

async function sealOne(secret: string, recipient: ApiKeyRecipient): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(secret))
    .setProtectedHeader({ alg: recipient.alg, enc: ENC, kid: recipient.kid })
    .encrypt(recipient.key);
}

/**
 * XT.COM's answer body with every secret replaced by its JWE, re-serialised; or an AppError
 * (provider_bad_response, 502) that says why not and holds nothing of the answer.
 */
export async function sealApiKeyAnswer(body: string, recipient: ApiKeyRecipient): Promise<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw unsealable('not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw unsealable('not a JSON object');
  const slots: Slot[] = [];
  collect(parsed, false, 0, slots);
  if (slots.length === 0 && succeeded(parsed as Record<string, unknown>))
    throw unsealable('a success without a recognisable secret');
  const sealed = await Promise.all(slots.map((s) => sealOne(s.secret, recipient)));
  slots.forEach((s, i) => ((s.holder as Record<string | number, unknown>)[s.key] = sealed[i]));
  const out = JSON.stringify(parsed);
  for (const { secret } of slots) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (secret !== '' && (out.includes(secret) || out.includes(escaped)))
      throw unsealable('the secret also sits elsewhere in the answer');
  }
  return out;
}

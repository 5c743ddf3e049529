/**
 * AES-256-GCM for everything secret that rests in the store (token sets, login transactions).
 * The first key encrypts; every key decrypts, so keys rotate without logging anyone out.
 * The record's own key (owner + provider) is bound in as associated data, so a record
 * copied under another key does not decrypt.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

interface Key {
  id: string;
  bytes: Buffer;
}

export class Sealer {
  private readonly keys: Key[];

  constructor(rawKeys: Buffer[]) {
    if (rawKeys.length === 0) throw new Error('Sealer needs at least one key');
    this.keys = rawKeys.map((bytes) => {
      if (bytes.length !== 32) throw new Error('encryption keys must be 32 bytes');
      return { id: createHash('sha256').update(bytes).digest('base64url').slice(0, 8), bytes };
    });
  }

  /**
   * Keys from TOKEN_ENCRYPTION_KEYS (base64, comma separated; the first seals), then one derived
   * with HKDF from each of `secrets`, in their order: what opens records sealed before
   * TOKEN_ENCRYPTION_KEYS was set, and what seals while it is unset. See forSession for the order.
   */
  static fromConfig(secrets: readonly string[], base64Keys?: string[]): Sealer {
    const listed = (base64Keys ?? []).map((k) => Buffer.from(k, 'base64'));
    const derived = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'xt-connect', 'token-encryption-v1', 32)));
    return new Sealer([...listed, ...derived]);
  }

  /**
   * The sealer of a configuration. Without TOKEN_ENCRYPTION_KEYS, the key derived from the newest
   * SUBJECT_KEYS seals, which is the OLDEST SESSION_SECRET while SUBJECT_KEYS is unset: adding a
   * session secret at the front moves nothing, and pinning SUBJECT_KEYS to the oldest session
   * secret before dropping it keeps every record open. Every other key, derived or listed, opens.
   */
  static forSession(session: { secrets: string[]; subjectKeys: string[]; tokenEncryptionKeys?: string[] }): Sealer {
    const order = [...new Set([...session.subjectKeys, ...[...session.secrets].reverse()])];
    return Sealer.fromConfig(order, session.tokenEncryptionKeys);
  }

  seal(plaintext: string, aad: string): string {
    const key = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
    cipher.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      VERSION,
      key.id,
      iv.toString('base64url'),
      ct.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  /** True when `blob` was sealed under another key than the one that seals now (a rotation): worth sealing again. */
  isStale(blob: string): boolean {
    return blob.split('.')[1] !== this.keys[0]!.id;
  }

  /** The plaintext, or undefined when no key opens it (key removed, record tampered with or moved). */
  open(blob: string, aad: string): string | undefined {
    const parts = blob.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) return undefined;
    const [, kid, iv, ct, tag] = parts as [string, string, string, string, string];
    const candidates = [...this.keys.filter((k) => k.id === kid), ...this.keys.filter((k) => k.id !== kid)];
    for (const key of candidates) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(aad));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        // try the next key
      }
    }
    return undefined;
  }
}

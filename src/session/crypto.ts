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

  /** Keys from TOKEN_ENCRYPTION_KEYS (base64, comma separated), or one derived from SESSION_SECRET with HKDF. */
  static fromConfig(sessionSecret: string, base64Keys?: string[]): Sealer {
    if (base64Keys && base64Keys.length) return new Sealer(base64Keys.map((k) => Buffer.from(k, 'base64')));
    const derived = Buffer.from(hkdfSync('sha256', sessionSecret, 'xt-connect', 'token-encryption-v1', 32));
    return new Sealer([derived]);
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

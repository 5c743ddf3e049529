/**
 * The cursor of GET /v1/webhooks/deliveries: the key of the last log entry a page read, sealed with
 * AES-256-GCM under a key derived from the newest SESSION_SECRET, opened under any listed one (as session/listCursor.ts does for the
 * connections list), so the caller can hand it back but can neither read nor forge it.
 *
 *   cursor = base64url(iv[12] ‖ AES-256-GCM(key, iv, log key) ‖ tag[16])
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const CURSOR_PATTERN = /^[A-Za-z0-9_-]{40,200}$/;
const LOG_KEY = /^\d{13}-[0-9a-f]{12}$/;
const IV = 12;
const TAG = 16;
const AAD = Buffer.from('xt-connect delivery log cursor v1');

export class LogCursors {
  /** One per SESSION_SECRET, newest first: the newest seals, each opens (a cursor outlives a rotation). */
  private readonly keys: Buffer[];

  constructor(sessionSecrets: readonly string[]) {
    this.keys = sessionSecrets.map((s) =>
      Buffer.from(hkdfSync('sha256', s, 'xt-connect', 'delivery-log-cursor-v1', 32)),
    );
  }

  seal(logKey: string): string {
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, iv).setAAD(AAD);
    const sealed = Buffer.concat([cipher.update(logKey, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /** The log key a cursor names, or undefined for one that is malformed or was not made here. */
  open(cursor: string): string | undefined {
    if (!CURSOR_PATTERN.test(cursor)) return undefined;
    const raw = Buffer.from(cursor, 'base64url');
    if (raw.length <= IV + TAG || raw.toString('base64url') !== cursor) return undefined;
    for (const k of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', k, raw.subarray(0, IV)).setAAD(AAD);
        decipher.setAuthTag(raw.subarray(raw.length - TAG));
        const key = Buffer.concat([decipher.update(raw.subarray(IV, raw.length - TAG)), decipher.final()]).toString();
        return LOG_KEY.test(key) ? key : undefined;
      } catch {
        // the next key
      }
    }
    return undefined; // forged, truncated or from another secret
  }
}

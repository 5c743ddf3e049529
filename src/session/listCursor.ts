/**
 * The cursor of GET /v1/connections: the stored key of the last record a page read, sealed with
 * AES-256-GCM, so the caller can hand it back but can neither read it (it is opaque: not even the
 * HMAC that keys a subject's records shows through) nor make one up (so it can never steer the
 * store to a key of its choosing). The key is derived from SESSION_SECRET (one per listed secret: the newest
 * seals, each opens, so a cursor outlives a rotation); dropping a secret voids the cursors it sealed.
 *
 *   cursor = base64url(iv[12] ‖ AES-256-GCM(key, iv, owner LF provider) ‖ tag[16])
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { ConnectionKey } from '../store/types.js';
import { isSubjectKey } from './subjects.js';

const CURSOR_PATTERN = /^[A-Za-z0-9_-]{40,600}$/;
const IV = 12;
const TAG = 16;
const AAD = Buffer.from('xt-connect list cursor v2');

export class ListCursors {
  /** One per SESSION_SECRET, newest first: the newest seals, each opens (a cursor outlives a rotation). */
  private readonly keys: Buffer[];

  constructor(sessionSecrets: readonly string[]) {
    this.keys = sessionSecrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'xt-connect', 'list-cursor-v2', 32)));
  }

  seal(key: ConnectionKey): string {
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, iv).setAAD(AAD);
    const sealed = Buffer.concat([cipher.update(`${key.owner}\n${key.provider}`, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /** The key a cursor names, or undefined for one that is malformed or was not made here. */
  open(cursor: string): ConnectionKey | undefined {
    if (!CURSOR_PATTERN.test(cursor)) return undefined;
    const raw = Buffer.from(cursor, 'base64url');
    // Canonical only: the decoder would drop a stray trailing character, so one cursor would have many spellings.
    if (raw.length <= IV + TAG || raw.toString('base64url') !== cursor) return undefined;
    const payload = openUnder(this.keys, raw);
    if (payload === undefined) return undefined; // forged, truncated or from another secret
    const [owner, provider, ...rest] = payload.split('\n');
    if (rest.length > 0 || !owner || !provider || !isSubjectKey(owner)) return undefined;
    return { owner, provider };
  }
}

/** The plaintext of `raw` under the first key that opens it, or undefined. */
function openUnder(keys: readonly Buffer[], raw: Buffer): string | undefined {
  for (const key of keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV)).setAAD(AAD);
      decipher.setAuthTag(raw.subarray(raw.length - TAG));
      return Buffer.concat([decipher.update(raw.subarray(IV, raw.length - TAG)), decipher.final()]).toString('utf8');
    } catch {
      // the next key
    }
  }
  return undefined;
}

/**
 * The cursor of GET /v1/connections: the stored key of the last record a page read, MACed so the
 * caller can hand it back but cannot make one up (so it can never steer the store to a key of its
 * choosing), and base64url, so it is opaque. The MAC key is derived from SESSION_SECRET like the
 * other keys (see subjects.ts); changing the secret voids every cursor, as it unlinks every subject.
 *
 *   cursor = base64url(owner LF provider) "." base64url(HMAC-SHA256(key, owner LF provider))
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { ConnectionKey } from '../store/types.js';
import { isSubjectKey } from './subjects.js';

const CURSOR_PATTERN = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/;

export class ListCursors {
  private readonly key: Buffer;

  constructor(sessionSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', sessionSecret, 'xt-connect', 'list-cursor-v1', 32));
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }

  seal(key: ConnectionKey): string {
    const payload = Buffer.from(`${key.owner}\n${key.provider}`, 'utf8');
    return `${payload.toString('base64url')}.${this.mac(payload).toString('base64url')}`;
  }

  /** The key a cursor names, or undefined for one that is malformed or was not made here. */
  open(cursor: string): ConnectionKey | undefined {
    const m = CURSOR_PATTERN.exec(cursor);
    if (!m) return undefined;
    const payload = Buffer.from(m[1]!, 'base64url');
    const given = Buffer.from(m[2]!, 'base64url');
    if (given.length !== 32 || !timingSafeEqual(given, this.mac(payload))) return undefined;
    const [owner, provider, ...rest] = payload.toString('utf8').split('\n');
    if (rest.length > 0 || !owner || !provider || !isSubjectKey(owner)) return undefined;
    return { owner, provider };
  }
}

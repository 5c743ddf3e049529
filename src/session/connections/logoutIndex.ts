/**
 * The back-channel logout index's keys. A logout token names a provider session (`sid`) or a
 * user (`sub`); the store keeps, under a key made from that name, the owners whose connections
 * it made (see AuthStore.addToIndex), and the logout's tombstone (AuthStore.putLogoutTombstone).
 * The names go in as an HMAC under a key derived from SESSION_SECRET, as subject keys do
 * (subjects.ts): a look at the store reveals no provider's ids.
 */
import { createHmac, hkdfSync } from 'node:crypto';

/** `sid+sub`: a logout that names both ends only that user's connections of that session. */
export type LogoutKind = 'sid' | 'sub' | 'sid+sub';

/** What a back-channel logout names, or what a connection is known by: a provider session and/or a user. */
export interface LogoutNames {
  sid?: string;
  sub?: string;
}

export class LogoutIndex {
  private readonly key: Buffer;

  constructor(sessionSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', sessionSecret, 'xt-connect', 'logout-index-v1', 32));
  }

  /** The store key of `provider`'s session or user `value`. */
  keyOf(provider: string, kind: LogoutKind, value: string): string {
    const mac = createHmac('sha256', this.key).update(`${provider}\n${kind}\n${value}`, 'utf8').digest('base64url');
    return `bcl:${provider}:${kind}:${mac}`;
  }

  /** The tombstone key of a logout: the pair when it names both, else the one it names. */
  tombstoneOf(provider: string, target: LogoutNames): string | undefined {
    if (target.sid !== undefined && target.sub !== undefined) return this.keyOf(provider, 'sid+sub', JSON.stringify([target.sid, target.sub]));
    if (target.sid !== undefined) return this.keyOf(provider, 'sid', target.sid);
    if (target.sub !== undefined) return this.keyOf(provider, 'sub', target.sub);
    return undefined;
  }

  /**
   * Every tombstone key that can end a connection known by `names`: its session, its user, and the
   * pair. `session`: the key names a provider session (alone or with its user), which never logs in
   * again once logged out; a user (`sub` alone) may.
   */
  tombstonesFor(provider: string, names: LogoutNames): { key: string; session: boolean }[] {
    const keys: { key: string; session: boolean }[] = [];
    if (names.sid !== undefined) keys.push({ key: this.keyOf(provider, 'sid', names.sid), session: true });
    if (names.sub !== undefined) keys.push({ key: this.keyOf(provider, 'sub', names.sub), session: false });
    if (names.sid !== undefined && names.sub !== undefined) keys.push({ key: this.tombstoneOf(provider, names)!, session: true });
    return keys;
  }
}

/**
 * The back-channel logout index's keys. A logout token names a provider session (`sid`) or a
 * user (`sub`); the store keeps, under a key made from that name, the owners whose connections
 * it made (see AuthStore.addToIndex). The names go in as an HMAC under a key derived from
 * SESSION_SECRET, as subject keys do (subjects.ts): a look at the store reveals no provider's ids.
 */
import { createHmac, hkdfSync } from 'node:crypto';

export type LogoutKind = 'sid' | 'sub';

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
}

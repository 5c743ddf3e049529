/**
 * Back-channel logout: the index's keys (LogoutIndex), and BackChannel, which keeps each
 * connection indexed, ends what a logout names, and reads records with the logout's tombstone
 * check. A logout token names a provider session (`sid`) or a user (`sub`); the store keeps,
 * under a key made from that name, the owners whose connections it made (see AuthStore.addToIndex),
 * and the logout's tombstone (AuthStore.putLogoutTombstone). The names go in as an HMAC under a key
 * derived from SUBJECT_KEYS, as subject keys are (subjects.ts): a look at the store reveals no
 * provider's ids. The keys rotate: the newest writes, and a logout reads the index and the
 * tombstones under every key, so entries written before a rotation still end their connections
 * (each is written again under the newest key at the connection's next refresh).
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import type { Provider } from '../../providers/types.js';
import type { Audit } from '../../shared/audit.js';
import type { AuthStore } from '../../store/types.js';
import { type ConnectionRecord, MAX_RECORD_MS, type Records } from './record.js';

/** `sid+sub`: a logout that names both ends only that user's connections of that session. */
export type LogoutKind = 'sid' | 'sub' | 'sid+sub';

/** What a back-channel logout names, or what a connection is known by: a provider session and/or a user. */
export interface LogoutNames {
  sid?: string;
  sub?: string;
}

export class LogoutIndex {
  private readonly keys: Buffer[];

  /** `secrets`: SUBJECT_KEYS, newest first (config.session.subjectKeys). */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('LogoutIndex needs at least one key');
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'xt-connect', 'logout-index-v1', 32)));
  }

  /** The store key of `provider`'s session or user `value` (under the newest key: what is written). */
  keyOf(provider: string, kind: LogoutKind, value: string): string {
    return this.keysOf(provider, kind, value)[0]!;
  }

  /** The store keys of `provider`'s session or user `value` under every key, newest first (what is read). */
  keysOf(provider: string, kind: LogoutKind, value: string): string[] {
    return this.keys.map((key) => {
      const mac = createHmac('sha256', key).update(`${provider}\n${kind}\n${value}`, 'utf8').digest('base64url');
      return `bcl:${provider}:${kind}:${mac}`;
    });
  }

  /** The tombstone key of a logout: the pair when it names both, else the one it names. */
  tombstoneOf(provider: string, target: LogoutNames): string | undefined {
    if (target.sid !== undefined && target.sub !== undefined)
      return this.keyOf(provider, 'sid+sub', JSON.stringify([target.sid, target.sub]));
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
    const add = (kind: LogoutKind, value: string, session: boolean) =>
      keys.push(...this.keysOf(provider, kind, value).map((key) => ({ key, session })));
    if (names.sid !== undefined) add('sid', names.sid, true);
    if (names.sub !== undefined) add('sub', names.sub, false);
    if (names.sid !== undefined && names.sub !== undefined)
      add('sid+sub', JSON.stringify([names.sid, names.sub]), true);
    return keys;
  }
}

/**
 * At most this many owners are kept under one provider session or user in the logout index (the
 * latest logins): the logout's fast path, which ends them at once with their webhooks. Those it
 * lost are ended by the logout's tombstone when next read (see loggedOut()), however many there are.
 */
export const LOGOUT_INDEX_MAX = 100;

/** What a back-channel logout names: a provider session (with or without its user), or a user's every session. */
export type LogoutTarget = LogoutNames;

/**
 * How long a logout's tombstone is kept: as long as any connection it could name can live (a
 * subject's, MAX_RECORD_MS, plus its ended-record tombstone), and a day more for a refresh that
 * was in flight when the logout came.
 */
export const LOGOUT_TOMBSTONE_MS = MAX_RECORD_MS + 2 * 86_400_000;

export interface BackChannelOptions {
  records: Records;
  store: AuthStore;
  providers: Map<string, Provider>;
  logger: Logger;
  now: () => number;
  audit?: Audit;
  /** The index's keys; without them no connection is indexed. */
  logoutIndex?: LogoutIndex;
}

export class BackChannel {
  constructor(private readonly opts: BackChannelOptions) {}

  /**
   * The record and the stored value it came from (the value a compare-and-set write expects).
   * An active connection that a back-channel logout named after it was made (its tombstone, see
   * loggedOut()) ends here, as the logout would have ended it, and reads as none.
   */
  async read(owner: string, provider: string): Promise<{ rec: ConnectionRecord | null; blob: string }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { rec, blob } = await this.opts.records.readStored(owner, provider);
      if (!rec || !(await this.loggedOut(rec))) return { rec, blob };
      if (await this.endByLogout(owner, rec, blob, 'tombstone')) return { rec: null, blob: '' };
      // The record changed between the read and the delete (a refresh, a new login): look again.
    }
    return { rec: null, blob: '' }; // logged out each time it was read: none
  }

  /** The logout index, for a provider that takes back-channel logouts. */
  private indexFor(provider: string): LogoutIndex | undefined {
    return this.opts.providers.get(provider)?.backchannelLogout ? this.opts.logoutIndex : undefined;
  }

  /** The index keys of `rec`: its provider session and its user; `every`: under each key, else the newest. */
  private logoutKeys(rec: Pick<ConnectionRecord, 'provider' | 'sid' | 'userId'>, every = false): string[] {
    const idx = this.indexFor(rec.provider);
    if (!idx) return [];
    const keys: string[] = [];
    const add = (kind: LogoutKind, value: string) => {
      const all = idx.keysOf(rec.provider, kind, value);
      keys.push(...(every ? all : all.slice(0, 1)));
    };
    if (rec.sid) add('sid', rec.sid);
    if (rec.userId) add('sub', rec.userId);
    return keys;
  }

  /**
   * Puts `owner` under `rec`'s session and user, for as long as the record can live (its refresh
   * token's lifetime, at most MAX_RECORD_MS, plus the tombstone; a session-bound record follows its
   * session but never outlives that): its ttlFor, recomputed at every refresh (reindex()). An entry
   * that outlives its record only costs a look-up.
   */
  async index(owner: string, rec: ConnectionRecord): Promise<void> {
    const keys = this.logoutKeys(rec);
    if (keys.length === 0) return;
    const ttl = this.opts.records.ttlFor(owner, rec);
    for (const key of keys) await this.opts.store.addToIndex(key, owner, ttl, LOGOUT_INDEX_MAX);
  }

  /**
   * After a refresh moved the record's lifetime on, its index entries move with it (a provider
   * whose refresh tokens slide would otherwise outlive them, and its logout would find nothing).
   * Best effort: the refresh itself stands either way.
   */
  async reindex(owner: string, rec: ConnectionRecord): Promise<void> {
    if (rec.status !== 'active') return;
    try {
      await this.index(owner, rec);
    } catch (err) {
      this.opts.logger.warn(
        { provider: rec.provider, code: err instanceof AppError ? err.code : 'internal' },
        'a logout index entry could not be renewed',
      );
    }
  }

  /** Takes `owner` out of `rec`'s index entries. Best effort: a stale entry is pruned when a logout reads it. */
  async unindex(owner: string, rec: Pick<ConnectionRecord, 'provider' | 'sid' | 'userId'>): Promise<void> {
    try {
      for (const key of this.logoutKeys(rec, true)) await this.opts.store.removeFromIndex(key, owner);
    } catch (err) {
      this.opts.logger.warn(
        { provider: rec.provider, code: err instanceof AppError ? err.code : 'internal' },
        'a logout index entry could not be removed',
      );
    }
  }

  /**
   * A back-channel logout from `provider`: with `sid`, the connections that provider session made
   * (and, with `sub` too, only that user's); with `sub` alone, every connection of that user. Each
   * ends as a disconnect does, without revocation (the provider ended the session itself): the
   * record is deleted, compare-and-delete on the value just read so a newer login's record stays,
   * with the webhook's `connection.ended` (`provider_logout`) and an audit line. Returns how many ended.
   */
  async endByProviderLogout(provider: string, target: LogoutTarget): Promise<number> {
    const idx = this.indexFor(provider);
    const tombstone = idx?.tombstoneOf(provider, target);
    if (!idx || tombstone === undefined) return 0;
    const owners = await this.indexed(idx, provider, target);
    // No connection is indexed under this name: nothing to end, now or later, so no tombstone
    // either (a logout for a session or user we never saw, repeated, must not grow the store).
    if (owners.length === 0) return 0;
    // Then the tombstone, so every connection this logout names ends, the index's or not (loggedOut()).
    await this.opts.store.putLogoutTombstone(tombstone, this.opts.now(), LOGOUT_TOMBSTONE_MS);
    const named = (rec: ConnectionRecord | null): rec is ConnectionRecord =>
      !!rec &&
      (target.sid === undefined || rec.sid === target.sid) &&
      (target.sub === undefined || rec.userId === target.sub);
    let ended = 0;
    for (const { key, owner } of owners) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const { rec, blob } = await this.opts.records.readStored(owner, provider);
        if (!named(rec) || rec.status !== 'active') {
          // Gone, ended, or a newer login of this owner's: nothing of that session is left here.
          await this.opts.store.removeFromIndex(key, owner);
          break;
        }
        if (await this.endByLogout(owner, rec, blob, 'index')) {
          ended += 1;
          break;
        }
        // The record changed between the read and the delete (a refresh landed): read it again.
      }
    }
    return ended;
  }

  /** The owners indexed under what a logout names, under every key (a rotation in progress), each with its index key. */
  private async indexed(
    idx: LogoutIndex,
    provider: string,
    target: LogoutTarget,
  ): Promise<{ key: string; owner: string }[]> {
    const keys =
      target.sid !== undefined ? idx.keysOf(provider, 'sid', target.sid) : idx.keysOf(provider, 'sub', target.sub!);
    const found: { key: string; owner: string }[] = [];
    for (const key of keys) found.push(...(await this.opts.store.readIndex(key)).map((owner) => ({ key, owner })));
    return found;
  }

  /**
   * Ends `rec` as a back-channel logout does: deleted (compare-and-delete on `blob`, so a newer
   * login's record stays) with the webhook's `connection.ended` (`provider_logout`) and an audit
   * line. `via`: found through the index at the logout, or through its tombstone at a later read.
   */
  private async endByLogout(
    owner: string,
    rec: ConnectionRecord,
    blob: string,
    via: 'index' | 'tombstone',
  ): Promise<boolean> {
    const event = this.opts.records.event(owner, 'connection.ended', rec, 'provider_logout');
    if (!(await this.opts.store.deleteConnection(owner, rec.provider, event, blob))) return false;
    this.opts.records.written(event);
    this.opts.audit?.write('disconnected', { provider: rec.provider, owner, reason: 'provider_logout' });
    this.opts.logger.info({ provider: rec.provider, via }, 'connection ended by a back-channel logout');
    await this.unindex(owner, rec);
    return true;
  }

  /** The tombstone keys that can end a connection known by `names` (none for a provider without back-channel logout). */
  private tombstoneKeys(provider: string, names: LogoutNames): { key: string; session: boolean }[] {
    return (
      this.indexFor(provider)?.tombstonesFor(provider, { sid: names.sid || undefined, sub: names.sub || undefined }) ??
      []
    );
  }

  /**
   * True when `rec` is an active connection that a back-channel logout reached, whether or not the
   * bounded index still held it: a logout that names its session, its user or both came at or
   * after its connectedAt; or a logout of its provider session came after its login was *started*
   * (loginStartedAt): a callback held back from before that logout and delivered after it carries
   * a session the provider has ended. One store read, and only for a provider that takes
   * back-channel logouts.
   */
  async loggedOut(rec: ConnectionRecord): Promise<boolean> {
    if (rec.status !== 'active') return false;
    const keys = this.tombstoneKeys(rec.provider, { sid: rec.sid, sub: rec.userId });
    if (keys.length === 0) return false;
    const times = await this.opts.store.logoutTombstones(keys.map((k) => k.key));
    const heldBack = (at: number) => rec.loginStartedAt !== undefined && at > rec.loginStartedAt;
    return keys.some((k, i) => times[i]! > 0 && (times[i]! >= rec.connectedAt || (k.session && heldBack(times[i]!))));
  }

  /**
   * A new login's connectedAt: now, but always after any logout tombstone it could be judged by,
   * so a login after a logout is never ended by it (the same millisecond, or a replica whose clock
   * is behind the one that took the logout). A login started before a logout of its provider
   * session is still ended by that logout (loggedOut(), by loginStartedAt).
   */
  async loginTime(provider: string, names: LogoutNames): Promise<number> {
    const now = this.opts.now();
    const keys = this.tombstoneKeys(provider, names);
    if (keys.length === 0) return now;
    return Math.max(now, ...(await this.opts.store.logoutTombstones(keys.map((k) => k.key))).map((t) => t + 1));
  }
}

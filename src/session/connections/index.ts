/**
 * A person's connection to each provider: the token set, kept encrypted in its own record,
 * and its lifecycle (refresh before expiry, single-flight, rotation, failure semantics).
 *
 * Refresh coordination, in order:
 *  1. in-process single-flight: concurrent requests of one session share one promise;
 *  2. a store lock (SQLite row or Redis SET NX PX) so several processes do the same;
 *  3. after taking the lock, read the record again: another request or replica may have
 *     refreshed already (its version moved on), in which case no call is made.
 * A record is written only under that lock (or at login, with a fresh record), and only
 * if it is still exactly the record read under the lock (compare-and-set), so nothing can put
 * back an older token set, write over a newer one or a new login, or revive a disconnect.
 *
 * The lock is a short lease (LOCK_LEASE_MS) that its holder renews while its refresh call is
 * alive, so the lock of a process that crashed is free again within seconds; and nobody waits
 * longer than REFRESH_WAIT_MS for another request's refresh: after that it goes on with the
 * still-valid access token, or answers 503 with Retry-After when there is none.
 */
import type { Logger } from 'pino';
import type { Audit } from '../../shared/audit.js';
import type { Metrics } from '../../shared/metrics.js';
import { AppError } from '../../errors.js';
import type { Provider } from '../../providers/types.js';
import type { TokenResponse } from '../../shared/tokens.js';
import type { Sealer } from '../crypto.js';
import { isExpired, isStale } from '../../shared/expiry.js';
import { type ConnectionRecord, type ConnectionView, type EndReason, connectionSchema } from './record.js';
import { LOCK_LEASE_MS, LOCK_RENEW_MS, type LockTiming, REFRESH_WAIT_MS, RefreshLocks, refreshLockKey } from './lock.js';
import { type EndedReason, type EventType, connectionEvent } from './events.js';
import type { LogoutIndex, LogoutNames } from './logoutIndex.js';
import type { AuthStore, OutboxEvent } from '../stores/types.js';
import { isSubjectKey } from '../subjects.js';

export { LOCK_LEASE_MS, LOCK_RENEW_MS, type LockTiming, REFRESH_WAIT_MS, refreshLockKey };
export type { ConnectionRecord, ConnectionView, EndReason };

export interface ConnectionOptions {
  store: AuthStore;
  sealer: Sealer;
  providers: Map<string, Provider>;
  logger: Logger;
  now?: () => number;
  skewMs: number;
  backoffBaseMs?: number;
  backoffMaxMs: number;
  /**
   * How long a holder keeps renewing its lease while its refresh call runs: longer than the
   * provider timeout, so a slow refresh never outlives its lock (oauth2-proxy's 2 s did), but
   * bounded, so a call that never ends does not hold the lock for ever.
   */
  lockMaxHoldMs: number;
  /** A tombstone ("the connection ended") is kept this long so the person is told why. */
  tombstoneMs?: number;
  /**
   * The longest a session-bound connection is kept without its session being seen (SESSION_IDLE_TTL):
   * each write is capped here, and followSession() keeps it in step with its session after that.
   * A subject's connection lives as long as its refresh token (at most MAX_RECORD_MS).
   */
  maxTtlMs: number;
  /**
   * Test hook: the lease, renewal and wait of the refresh lock, scaled down so tests run the
   * same logic in less time. Unset (always, outside tests): LOCK_LEASE_MS, LOCK_RENEW_MS, REFRESH_WAIT_MS.
   */
  timing?: Partial<LockTiming>;
  /** Test hook: told the owner id each time a login stores a new token set (the owner never leaves the server). */
  onConnected?: (owner: string, provider: string) => void;
  /** Write a webhook event to the outbox with every connection that starts or ends (WEBHOOK_URL is set). */
  webhooks?: boolean;
  /** Told after an event has been stored, so this process's delivery worker can start at once. */
  onEvent?: () => void;
  /** xtc_refreshes_total. */
  metrics?: Metrics;
  /** refresh_rejected and disconnected lines. */
  audit?: Audit;
  /**
   * The back-channel logout index's keys: with it, each connection to a provider that takes
   * back-channel logouts is indexed by its provider session (`sid`) and user (`sub`).
   */
  logoutIndex?: LogoutIndex;
}

/** How a record's end reason is reported to the webhook: a connection without a refresh token that ran out has expired too. */
const ENDED_REASON: Record<EndReason, EndedReason | undefined> = {
  refresh_rejected: 'refresh_rejected',
  refresh_expired: 'refresh_expired',
  access_expired: 'refresh_expired',
  unreadable: undefined,
};

/** How many opened records are kept (about 2 kB each). */
const OPENED_CACHE_SIZE = 2000;

/** The longest any record is kept (a subject's connection without a known refresh-token expiry). */
export const MAX_RECORD_MS = 400 * 86_400_000;

/** How long the answer of a refresh call is kept trying to reach a store that is briefly away. */
export const STORE_RETRY_MS = 5000;

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

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Connections {
  private readonly inflight = new Map<string, Promise<ConnectionRecord | null>>();
  private readonly now: () => number;
  private readonly warnedUnreadable = new Set<string>();
  /** Stored values already opened (see open()), oldest first. */
  private readonly opened = new Map<string, { aad: string; rec: ConnectionRecord }>();
  private readonly timing: LockTiming;
  private readonly locks: RefreshLocks;

  constructor(private readonly opts: ConnectionOptions) {
    this.now = opts.now ?? Date.now;
    this.timing = { lockLeaseMs: LOCK_LEASE_MS, lockRenewMs: LOCK_RENEW_MS, refreshWaitMs: REFRESH_WAIT_MS, ...opts.timing };
    this.locks = new RefreshLocks({ store: opts.store, logger: opts.logger, timing: this.timing, maxHoldMs: opts.lockMaxHoldMs });
  }

  // ---------- reading and writing records ----------

  private aad(owner: string, provider: string): string {
    return `connection:${owner}:${provider}`;
  }

  async read(owner: string, provider: string): Promise<ConnectionRecord | null> {
    return (await this.readSealed(owner, provider)).rec;
  }

  /**
   * The record and the stored value it came from (the value a compare-and-set write expects).
   * An active connection that a back-channel logout named after it was made (its tombstone, see
   * loggedOut()) ends here, as the logout would have ended it, and reads as none.
   */
  private async readSealed(owner: string, provider: string): Promise<{ rec: ConnectionRecord | null; blob: string }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { rec, blob } = await this.readStored(owner, provider);
      if (!rec || !(await this.loggedOut(rec))) return { rec, blob };
      if (await this.endByLogout(owner, rec, blob, 'tombstone')) return { rec: null, blob: '' };
      // The record changed between the read and the delete (a refresh, a new login): look again.
    }
    return { rec: null, blob: '' }; // logged out each time it was read: none
  }

  /** The stored record as it is, without the logout check. */
  private async readStored(owner: string, provider: string): Promise<{ rec: ConnectionRecord | null; blob: string }> {
    const blob = await this.opts.store.getConnection(owner, provider);
    if (blob === null) return { rec: null, blob: '' };
    return { rec: this.open(owner, provider, blob), blob };
  }

  /**
   * The record a stored value holds. Opening (AES-GCM, JSON, the schema) is done once per stored
   * value: the result is kept, keyed by the exact ciphertext *and* the record's key, so a value
   * copied under another owner or provider is opened (and refused) afresh. The same ciphertext
   * under the same key is the same authenticated plaintext, so nothing is trusted that was not
   * checked once. Records are never mutated (every change builds a new one).
   */
  private open(owner: string, provider: string, blob: string): ConnectionRecord {
    const aad = this.aad(owner, provider);
    const cached = this.opened.get(blob);
    if (cached && cached.aad === aad) return cached.rec;
    const plain = this.opts.sealer.open(blob, aad);
    if (plain !== undefined) {
      try {
        const parsed = connectionSchema.safeParse(JSON.parse(plain));
        if (parsed.success && parsed.data.provider === provider) {
          if (this.opened.size >= OPENED_CACHE_SIZE) this.opened.delete(this.opened.keys().next().value!);
          this.opened.set(blob, { aad, rec: parsed.data });
          return parsed.data;
        }
      } catch {
        /* fall through */
      }
    }
    // A key was removed, the record was tampered with, or it has a shape or version this code
    // does not know: not connected. Logged once per record.
    const key = `${owner}:${provider}`;
    if (!this.warnedUnreadable.has(key)) {
      this.warnedUnreadable.add(key);
      if (this.warnedUnreadable.size > 10_000) this.warnedUnreadable.clear();
      this.opts.logger.warn({ provider }, 'a stored connection could not be read (decryption, shape or version); treating it as not connected');
    }
    return { v: 1, provider, status: 'ended', version: 0, connectedAt: 0, refreshFailures: 0, endReason: 'unreadable' };
  }

  /** How long the store keeps `rec` of `owner`: its tokens' lifetime plus the tombstone, within the owner's cap. */
  private ttlFor(owner: string, rec: ConnectionRecord): number {
    const now = this.now();
    const tomb = this.opts.tombstoneMs ?? 86_400_000;
    const cap = isSubjectKey(owner) ? MAX_RECORD_MS : this.opts.maxTtlMs;
    const until = rec.status === 'ended' ? now : (rec.refreshExpiresAt ?? (rec.refreshToken ? now + cap : (rec.accessExpiresAt ?? now + cap)));
    return Math.max(1000, Math.min(until - now, cap) + tomb);
  }

  private seal(owner: string, rec: ConnectionRecord): string {
    return this.opts.sealer.seal(JSON.stringify(rec), this.aad(owner, rec.provider));
  }

  /** After a write that stored `event`: this process's delivery worker starts at once (others find it on their next round). */
  private written(event: OutboxEvent | undefined): void {
    if (event) this.opts.onEvent?.();
  }

  /** The outbox event for a change of `rec`, when webhooks are on. */
  private event(owner: string, type: EventType, rec: ConnectionRecord, reason: EndedReason | null = null): OutboxEvent | undefined {
    if (!this.opts.webhooks) return undefined;
    return connectionEvent(this.opts.sealer, this.now(), owner, type, rec, reason);
  }

  /**
   * Stores a brand-new token set after a code exchange (replacing whatever was there). `subject`
   * is the institution's user id for a linked login (then `owner` is that subject's key);
   * `loginStartedAt`, when the login transaction was started (see loggedOut()).
   */
  async connect(owner: string, provider: string, t: TokenResponse, subject?: string, loginStartedAt?: number): Promise<ConnectionRecord> {
    await this.discard(owner, provider); // a connection replaced by this login has ended: say so
    const now = await this.loginTime(provider, { sid: t.sid, sub: t.userId });
    const rec: ConnectionRecord = {
      v: 1,
      provider,
      status: 'active',
      version: 1,
      subject,
      userId: t.userId,
      scope: t.scope,
      claims: t.claims,
      accessToken: t.accessToken,
      refreshToken: t.refreshToken,
      idToken: t.idToken,
      sid: t.sid,
      accessExpiresAt: t.accessExpiresAt,
      refreshExpiresAt: t.refreshExpiresAt,
      connectedAt: now,
      loginStartedAt,
      refreshFailures: 0,
    };
    await this.index(owner, rec); // first: a connection stored is always one a back-channel logout can find
    const event = this.event(owner, 'connection.created', rec);
    await this.opts.store.putConnection(owner, provider, this.seal(owner, rec), this.ttlFor(owner, rec), event);
    this.written(event);
    this.opts.onConnected?.(owner, provider);
    return rec;
  }

  /**
   * Forgets the connection, reporting its end (`disconnected`) when it was active; no revocation:
   * used when a new login replaces it, and revoking could end the new grant too (a provider may
   * revoke the whole grant, and a new login at the same provider session can share it).
   */
  async discard(owner: string, provider: string): Promise<void> {
    const rec = await this.read(owner, provider);
    if (!rec) return;
    const event = rec.status === 'active' ? this.event(owner, 'connection.ended', rec, 'disconnected') : undefined;
    if (await this.opts.store.deleteConnection(owner, provider, event)) this.written(event);
    await this.unindex(owner, rec);
  }

  /**
   * Forgets the connection locally and revokes the refresh token at the provider (best effort).
   * Idempotent. `reason` is what the webhook says: the person disconnected, or the institution's backend did.
   * Returns the record that was forgotten (its ID token is the hint of an RP-initiated logout) and
   * whether the provider revoked its refresh token, or null when there was nothing to forget.
   */
  async disconnect(
    owner: string,
    provider: string,
    reason: 'disconnected' | 'revoked_by_service' = 'disconnected',
  ): Promise<{ record: ConnectionRecord; revoked: boolean } | null> {
    const rec = await this.read(owner, provider);
    // A connection that had already ended was reported then; its tombstone goes without a second event.
    const event = rec?.status === 'active' ? this.event(owner, 'connection.ended', rec, reason) : undefined;
    if (await this.opts.store.deleteConnection(owner, provider, event)) {
      this.written(event);
      if (rec) this.opts.audit?.write('disconnected', { provider, owner, reason });
    }
    if (rec) await this.unindex(owner, rec);
    const revoked = rec ? await this.revoke(rec) : false;
    return rec ? { record: rec, revoked } : null;
  }

  /**
   * Takes back what connect() just stored as `made`, only while it is still the stored record
   * (compare-and-delete: a newer login's record stays), reported like the service API's
   * disconnect (`revoked_by_service`), its refresh token revoked where the provider can.
   */
  async withdraw(owner: string, provider: string, made: ConnectionRecord): Promise<void> {
    const { rec, blob } = await this.readSealed(owner, provider);
    if (!rec || rec.connectedAt !== made.connectedAt || rec.accessToken !== made.accessToken) return;
    const event = this.event(owner, 'connection.ended', rec, 'revoked_by_service');
    if (!(await this.opts.store.deleteConnection(owner, provider, event, blob))) return;
    this.written(event);
    this.opts.audit?.write('disconnected', { provider, owner, reason: 'revoked_by_service' });
    await this.unindex(owner, rec);
    await this.revoke(rec);
  }

  /** Revokes `rec`'s refresh token at its provider, best effort: true when the provider did. */
  private async revoke(rec: ConnectionRecord): Promise<boolean> {
    const p = this.opts.providers.get(rec.provider);
    if (!rec.refreshToken || !p?.revoke) return false;
    try {
      await p.revoke(rec.refreshToken);
      return true;
    } catch (err) {
      // The code and plain details only: a failed revocation is the provider's trouble, not a bug.
      const detail = err instanceof AppError ? { code: err.code, detail: err.detail } : { code: 'internal' };
      this.opts.logger.warn({ provider: rec.provider, ...detail }, 'revocation at the provider failed; the local disconnect stands');
      return false;
    }
  }

  // ---------- back-channel logout ----------

  /** The logout index, for a provider that takes back-channel logouts. */
  private indexFor(provider: string): LogoutIndex | undefined {
    return this.opts.providers.get(provider)?.backchannelLogout ? this.opts.logoutIndex : undefined;
  }

  /** The index keys of `rec`: its provider session and its user. */
  private logoutKeys(rec: Pick<ConnectionRecord, 'provider' | 'sid' | 'userId'>): string[] {
    const idx = this.indexFor(rec.provider);
    if (!idx) return [];
    const keys: string[] = [];
    if (rec.sid) keys.push(idx.keyOf(rec.provider, 'sid', rec.sid));
    if (rec.userId) keys.push(idx.keyOf(rec.provider, 'sub', rec.userId));
    return keys;
  }

  /**
   * Puts `owner` under `rec`'s session and user, for as long as the record can live (its refresh
   * token's lifetime, at most MAX_RECORD_MS, plus the tombstone; a session-bound record follows its
   * session but never outlives that). An entry that outlives its record only costs a look-up.
   */
  /** Puts `owner` under `rec`'s sid/sub entries for as long as the record itself is kept (its ttlFor, recomputed at every refresh). */
  private async index(owner: string, rec: ConnectionRecord): Promise<void> {
    const keys = this.logoutKeys(rec);
    if (keys.length === 0) return;
    const ttl = this.ttlFor(owner, rec);
    for (const key of keys) await this.opts.store.addToIndex(key, owner, ttl, LOGOUT_INDEX_MAX);
  }

  /**
   * After a refresh moved the record's lifetime on, its index entries move with it (a provider
   * whose refresh tokens slide would otherwise outlive them, and its logout would find nothing).
   * Best effort: the refresh itself stands either way.
   */
  private async reindex(owner: string, rec: ConnectionRecord): Promise<void> {
    if (rec.status !== 'active') return;
    try {
      await this.index(owner, rec);
    } catch (err) {
      this.opts.logger.warn({ provider: rec.provider, code: err instanceof AppError ? err.code : 'internal' }, 'a logout index entry could not be renewed');
    }
  }

  /** Takes `owner` out of `rec`'s index entries. Best effort: a stale entry is pruned when a logout reads it. */
  private async unindex(owner: string, rec: Pick<ConnectionRecord, 'provider' | 'sid' | 'userId'>): Promise<void> {
    try {
      for (const key of this.logoutKeys(rec)) await this.opts.store.removeFromIndex(key, owner);
    } catch (err) {
      this.opts.logger.warn({ provider: rec.provider, code: err instanceof AppError ? err.code : 'internal' }, 'a logout index entry could not be removed');
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
    const key = target.sid !== undefined ? idx.keyOf(provider, 'sid', target.sid) : idx.keyOf(provider, 'sub', target.sub!);
    const owners = await this.opts.store.readIndex(key);
    // No connection is indexed under this name: nothing to end, now or later, so no tombstone
    // either (a logout for a session or user we never saw, repeated, must not grow the store).
    if (owners.length === 0) return 0;
    // Then the tombstone, so every connection this logout names ends, the index's or not (loggedOut()).
    await this.opts.store.putLogoutTombstone(tombstone, this.now(), LOGOUT_TOMBSTONE_MS);
    const named = (rec: ConnectionRecord | null): rec is ConnectionRecord =>
      !!rec && (target.sid === undefined || rec.sid === target.sid) && (target.sub === undefined || rec.userId === target.sub);
    let ended = 0;
    for (const owner of owners) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const { rec, blob } = await this.readStored(owner, provider);
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

  /**
   * Ends `rec` as a back-channel logout does: deleted (compare-and-delete on `blob`, so a newer
   * login's record stays) with the webhook's `connection.ended` (`provider_logout`) and an audit
   * line. `via`: found through the index at the logout, or through its tombstone at a later read.
   */
  private async endByLogout(owner: string, rec: ConnectionRecord, blob: string, via: 'index' | 'tombstone'): Promise<boolean> {
    const event = this.event(owner, 'connection.ended', rec, 'provider_logout');
    if (!(await this.opts.store.deleteConnection(owner, rec.provider, event, blob))) return false;
    this.written(event);
    this.opts.audit?.write('disconnected', { provider: rec.provider, owner, reason: 'provider_logout' });
    this.opts.logger.info({ provider: rec.provider, via }, 'connection ended by a back-channel logout');
    await this.unindex(owner, rec);
    return true;
  }

  /** The tombstone keys that can end a connection known by `names` (none for a provider without back-channel logout). */
  private tombstoneKeys(provider: string, names: LogoutNames): { key: string; session: boolean }[] {
    return this.indexFor(provider)?.tombstonesFor(provider, { sid: names.sid || undefined, sub: names.sub || undefined }) ?? [];
  }

  /**
   * True when `rec` is an active connection that a back-channel logout reached, whether or not the
   * bounded index still held it: a logout that names its session, its user or both came at or
   * after its connectedAt; or a logout of its provider session came after its login was *started*
   * (loginStartedAt): a callback held back from before that logout and delivered after it carries
   * a session the provider has ended. One store read, and only for a provider that takes
   * back-channel logouts.
   */
  private async loggedOut(rec: ConnectionRecord): Promise<boolean> {
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
  private async loginTime(provider: string, names: LogoutNames): Promise<number> {
    const now = this.now();
    const keys = this.tombstoneKeys(provider, names);
    if (keys.length === 0) return now;
    return Math.max(now, ...(await this.opts.store.logoutTombstones(keys.map((k) => k.key))).map((t) => t + 1));
  }

  /**
   * Moves a connection to another owner id (at login, when the owner id is rotated). Taken under
   * the provider's refresh lock, so a refresh in flight is stored before the move and never lost.
   */
  async transfer(from: string, to: string, provider: string): Promise<void> {
    const giveUpAt = this.now() + 5000;
    let lock = await this.locks.tryAcquire(refreshLockKey(from, provider), provider);
    while (lock === null && this.now() < giveUpAt) {
      await sleep(50);
      lock = await this.locks.tryAcquire(refreshLockKey(from, provider), provider);
    }
    try {
      const rec = await this.read(from, provider);
      if (rec && rec.endReason !== 'unreadable') {
        if (rec.status === 'active') await this.index(to, rec);
        await this.opts.store.putConnection(to, provider, this.seal(to, rec), this.ttlFor(to, rec));
      }
      await this.opts.store.deleteConnection(from, provider);
      if (rec) await this.unindex(from, rec);
    } finally {
      await lock?.release();
    }
  }

  // ---------- following the session ----------

  /**
   * The session of `owner` is stored until `expiresAt`: its connections end then too (a
   * compare-and-set of the same record with a new TTL, so a refresh that lands meanwhile wins).
   */
  async followSession(owner: string, expiresAt: number): Promise<void> {
    for (const provider of this.opts.providers.keys()) {
      const { rec, blob } = await this.readStored(owner, provider); // its TTL only: the next read does the logout check
      if (!rec) continue;
      const ttl = Math.max(1000, Math.min(this.ttlFor(owner, rec), expiresAt - this.now()));
      await this.opts.store.replaceConnection(owner, provider, blob, ttl, blob);
    }
  }

  /** The session of `owner` ended (SESSION_MAX_AGE): its connections are swept with it, as its TTL would have. */
  async forgetOwner(owner: string): Promise<void> {
    for (const provider of this.opts.providers.keys()) await this.opts.store.deleteConnection(owner, provider);
  }

  // ---------- the lifecycle ----------

  private usable(rec: ConnectionRecord | null): rec is ConnectionRecord & { accessToken: string } {
    return !!rec && rec.status === 'active' && !!rec.accessToken && !isExpired(rec.accessExpiresAt, this.now());
  }

  private stale(rec: ConnectionRecord): boolean {
    return isStale(rec.accessExpiresAt, rec.lastRefreshedAt ?? rec.connectedAt, this.now(), this.opts.skewMs);
  }

  /**
   * The connection, refreshed first when its access token is stale. Throws
   * `provider_unavailable` (503) only when the token has expired and the provider cannot be reached.
   */
  async ensureFresh(owner: string, provider: string): Promise<ConnectionRecord | null> {
    const rec = await this.read(owner, provider);
    if (!rec || rec.status !== 'active') return rec;
    if (!this.stale(rec)) return rec;
    if (rec.nextRefreshAt !== undefined && this.now() < rec.nextRefreshAt) return this.orProviderDown(rec, provider); // backing off
    const after = await this.refreshShared(owner, provider, rec.version, false);
    return this.orProviderDown(after, provider);
  }

  /** After the provider answered 401 to `rejectedToken`: refresh unless someone already has. */
  async refreshAfterRejection(owner: string, provider: string, rejectedToken: string): Promise<ConnectionRecord | null> {
    const rec = await this.read(owner, provider);
    if (!rec || rec.status !== 'active') return rec;
    if (rec.accessToken !== rejectedToken) return rec; // another request refreshed already
    const after = await this.refreshShared(owner, provider, rec.version, true);
    return this.orProviderDown(after, provider);
  }

  /** An active-but-expired record after a failed refresh means the provider is unreachable: 503. */
  private orProviderDown(rec: ConnectionRecord | null, provider: string): ConnectionRecord | null {
    if (rec && rec.status === 'active' && !this.usable(rec)) {
      throw new AppError('provider_down', {
        provider,
        detail: { reason: 'refresh deferred', retryAfterMs: Math.max(0, (rec.nextRefreshAt ?? this.now()) - this.now()) },
      });
    }
    return rec;
  }

  /** A usable access token, or an AppError saying what the person should do. */
  async accessToken(owner: string, provider: string): Promise<string> {
    return (await this.access(owner, provider)).token;
  }

  /** A usable access token and the provider's id of the person (for per-user limits), or the AppError of accessToken(). */
  async access(owner: string, provider: string): Promise<{ token: string; userId?: string }> {
    const rec = await this.ensureFresh(owner, provider);
    if (this.usable(rec)) return { token: rec.accessToken, userId: rec.userId };
    throw rec?.status === 'ended'
      ? new AppError('reconnect_required', { provider, detail: { reason: rec.endReason } })
      : new AppError('not_connected', { provider });
  }

  /** The page/API view. connected is true only while a usable token is held. */
  async view(owner: string | undefined, provider: string): Promise<ConnectionView> {
    if (!owner) return { provider, connected: false, reason: 'not_connected' };
    const rec = await this.ensureFresh(owner, provider);
    if (!rec) return { provider, connected: false, reason: 'not_connected' };
    const base: ConnectionView = {
      provider,
      connected: this.usable(rec),
      userId: rec.userId,
      scope: rec.scope,
      claims: rec.claims,
      connectedAt: iso(rec.connectedAt || undefined),
    };
    if (rec.status === 'ended') return { ...base, connected: false, reason: rec.endReason };
    return {
      ...base,
      accessTokenExpiresAt: iso(rec.accessExpiresAt),
      refreshTokenExpiresAt: iso(rec.refreshExpiresAt),
      lastRefreshedAt: iso(rec.lastRefreshedAt),
      refreshDeferredUntil: rec.refreshFailures > 0 ? iso(rec.nextRefreshAt) : undefined,
    };
  }

  private refreshShared(owner: string, provider: string, seenVersion: number, force: boolean): Promise<ConnectionRecord | null> {
    const key = `${owner}:${provider}`;
    const running = this.inflight.get(key);
    if (running) return this.joinRefresh(running, owner, provider, seenVersion, force);
    const p = this.refreshLocked(owner, provider, seenVersion, force).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Another request of this process is refreshing: share its result, but wait REFRESH_WAIT_MS at most. */
  private async joinRefresh(
    running: Promise<ConnectionRecord | null>,
    owner: string,
    provider: string,
    seenVersion: number,
    force: boolean,
  ): Promise<ConnectionRecord | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), this.timing.refreshWaitMs);
    });
    try {
      const result = await Promise.race([running, timeout]);
      if (result !== 'timeout') return result;
    } finally {
      clearTimeout(timer);
    }
    const cur = await this.read(owner, provider);
    if (!cur || cur.status !== 'active' || cur.version !== seenVersion) return cur;
    return this.stopWaiting(cur, force);
  }

  /**
   * Waited long enough for another request's refresh: go on with the current token while it is
   * valid, else the 503 of orProviderDown() (with Retry-After) rather than hold the person longer.
   */
  private stopWaiting(cur: ConnectionRecord, force: boolean): ConnectionRecord | null {
    if (!force && this.usable(cur)) return cur;
    // No usable token (expired, or just rejected by the API): the same 503 as a deferred refresh.
    return this.orProviderDown({ ...cur, accessToken: undefined, nextRefreshAt: this.now() + this.timing.lockLeaseMs }, cur.provider);
  }

  /** Another request or replica refreshed while this one waited for the lock: no call of ours. */
  private skipped(provider: string, cur: ConnectionRecord | null): ConnectionRecord | null {
    this.opts.metrics?.refreshes.inc({ provider, outcome: 'skipped_by_lock' });
    return cur;
  }

  private async refreshLocked(owner: string, provider: string, seenVersion: number, force: boolean): Promise<ConnectionRecord | null> {
    const lockKey = refreshLockKey(owner, provider);
    const giveUpAt = this.now() + this.timing.refreshWaitMs;
    let lock = await this.locks.tryAcquire(lockKey, provider);
    while (lock === null) {
      // Another process is refreshing. Wait for its result rather than calling the provider too;
      // a crashed holder's lease runs out within LOCK_LEASE_MS, and then this request takes over.
      await sleep(50);
      const cur = await this.read(owner, provider);
      if (!cur || cur.status !== 'active' || cur.version !== seenVersion) return this.skipped(provider, cur);
      if (this.now() >= giveUpAt) return this.stopWaiting(cur, force);
      lock = await this.locks.tryAcquire(lockKey, provider);
    }
    try {
      const { rec: cur, blob } = await this.readSealed(owner, provider); // look again, under the lock
      if (!cur || cur.status !== 'active') return cur;
      if (cur.version !== seenVersion) return this.skipped(provider, cur);
      if (!force && !this.stale(cur)) return this.skipped(provider, cur);
      return await this.refreshNow(owner, cur, blob);
    } finally {
      await lock.release();
    }
  }

  /**
   * Stores `next` only if the record is still `expected`, the one read under the lock. Otherwise
   * it was disconnected (null), or a newer record was stored meanwhile (another refresh after
   * this one's lease lapsed, a new login): that one stands and is returned.
   */
  private async replace(owner: string, next: ConnectionRecord, expected: string, event?: OutboxEvent): Promise<ConnectionRecord | null> {
    if (await this.opts.store.replaceConnection(owner, next.provider, this.seal(owner, next), this.ttlFor(owner, next), expected, event)) {
      this.written(event);
      await this.reindex(owner, next);
      return next;
    }
    const now = await this.read(owner, next.provider);
    if (now) this.opts.logger.warn({ provider: next.provider }, 'the connection changed while it was being refreshed; the newer record stands');
    return now;
  }

  private async refreshNow(owner: string, cur: ConnectionRecord, blob: string): Promise<ConnectionRecord | null> {
    const now = this.now();
    const provider = this.opts.providers.get(cur.provider);
    if (!cur.refreshToken || !provider) {
      return isExpired(cur.accessExpiresAt, now) ? this.end(owner, cur, 'access_expired', blob) : cur;
    }
    if (isExpired(cur.refreshExpiresAt, now)) return this.end(owner, cur, 'refresh_expired', blob);
    if (cur.nextRefreshAt !== undefined && now < cur.nextRefreshAt) return cur; // backing off

    let t: TokenResponse;
    try {
      t = await provider.refresh(cur.refreshToken, { userId: cur.userId, claims: cur.claims });
    } catch (err) {
      if (err instanceof AppError && err.code === 'provider_rejected') {
        this.opts.logger.info({ provider: cur.provider, detail: err.detail }, 'refresh rejected by the provider; connection ended');
        this.opts.metrics?.refreshes.inc({ provider: cur.provider, outcome: 'rejected' });
        this.opts.audit?.write('refresh_rejected', {
          provider: cur.provider,
          owner,
          reason: typeof err.detail.error === 'string' ? err.detail.error : undefined,
        });
        return this.end(owner, cur, 'refresh_rejected', blob);
      }
      this.opts.metrics?.refreshes.inc({ provider: cur.provider, outcome: 'transient' });
      return this.deferRefresh(owner, cur, err, blob);
    }
    const next: ConnectionRecord = {
      ...cur,
      version: cur.version + 1,
      accessToken: t.accessToken,
      accessExpiresAt: t.accessExpiresAt,
      // Rotation: a new refresh token replaces the old one; none in the response keeps the old one.
      refreshToken: t.refreshToken ?? cur.refreshToken,
      refreshExpiresAt: t.refreshToken ? t.refreshExpiresAt : cur.refreshExpiresAt,
      idToken: t.idToken ?? cur.idToken,
      scope: t.scope ?? cur.scope,
      userId: cur.userId ?? t.userId,
      claims: t.claims ?? cur.claims,
      lastRefreshedAt: now,
      refreshFailures: 0,
      nextRefreshAt: undefined,
    };
    this.opts.logger.info({ provider: cur.provider, rotated: !!t.refreshToken && t.refreshToken !== cur.refreshToken }, 'tokens refreshed');
    this.opts.metrics?.refreshes.inc({ provider: cur.provider, outcome: 'ok' });
    return this.storeRefreshed(owner, next, blob);
  }

  /**
   * The provider has acted (a rotating provider has already retired the old refresh token), so
   * its answer is worth more than one try at the store: a store that is briefly away (a Redis
   * reconnect after a pause, say) is tried again for up to STORE_RETRY_MS before giving up.
   */
  private async storeRefreshed(owner: string, next: ConnectionRecord, expected: string): Promise<ConnectionRecord | null> {
    const giveUpAt = Date.now() + STORE_RETRY_MS;
    for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
      try {
        return await this.replace(owner, next, expected);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'store_unavailable' || Date.now() + wait > giveUpAt) throw err;
        this.opts.logger.warn({ provider: next.provider, retryInMs: wait }, 'the refreshed tokens could not be stored yet; trying again');
        await sleep(wait);
      }
    }
  }

  /** A transient failure: keep everything, back off exponentially before the next attempt. */
  private async deferRefresh(owner: string, cur: ConnectionRecord, err: unknown, blob: string): Promise<ConnectionRecord | null> {
    const failures = cur.refreshFailures + 1;
    const base = this.opts.backoffBaseMs ?? 2000;
    const delay = Math.min(this.opts.backoffMaxMs, base * 2 ** Math.min(failures - 1, 20));
    const next: ConnectionRecord = { ...cur, version: cur.version + 1, refreshFailures: failures, nextRefreshAt: this.now() + delay };
    const code = err instanceof AppError ? err.code : 'internal';
    this.opts.logger.warn(
      { provider: cur.provider, code, detail: err instanceof AppError ? err.detail : undefined, failures, retryInMs: delay },
      'refresh failed transiently; will retry later',
    );
    return this.replace(owner, next, blob);
  }

  private async end(owner: string, cur: ConnectionRecord, reason: EndReason, blob: string): Promise<ConnectionRecord | null> {
    const ended: ConnectionRecord = {
      v: 1,
      provider: cur.provider,
      status: 'ended',
      version: cur.version + 1,
      subject: cur.subject,
      userId: cur.userId,
      connectedAt: cur.connectedAt,
      refreshFailures: 0,
      endedAt: this.now(),
      endReason: reason,
    };
    const reported = ENDED_REASON[reason];
    return this.replace(owner, ended, blob, reported && this.event(owner, 'connection.ended', cur, reported));
  }
}

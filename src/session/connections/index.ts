/**
 * A person's connection to each provider: the token set, kept encrypted in its own record, and its
 * lifecycle. Connections is the facade the app uses; the concerns live beside it:
 *  - record.ts: the record (a new one, its view), opening and sealing it (with a cache), how long
 *    it is kept, its events;
 *  - refresh.ts: refresh before expiry (single flight, the store lock, waiting for another's refresh);
 *  - refreshCall.ts: one refresh under the lock, and its outcome (compare-and-set, back-off, the end);
 *  - lock.ts: the refresh lock's lease;
 *  - logoutIndex.ts: back-channel logout (the index, its tombstones, the read that honours them);
 *  - events.ts: the webhook events a change produces;
 *  - list.ts: the list of the subjects' connections, page by page;
 *  - reconnect.ts: a reconnect's new tokens for the connection stored, in place;
 *  - relocate.ts: moving a record to another owner id, sealing it again under the newest key;
 *  - ending.ts: a disconnect (the person's, the institution's, an erasure's);
 *  - options.ts: what Connections is made with.
 * Here: logging in and out, moving connections to another owner id, and following the session.
 */
import { AppError } from '../../errors.js';
import type { TokenResponse } from '../../shared/tokens.js';
import {
  LOCK_LEASE_MS,
  LOCK_RENEW_MS,
  type LockTiming,
  REFRESH_WAIT_MS,
  RefreshLocks,
  refreshLockKey,
} from './lock.js';
import {
  type ConnectionListItem,
  type ConnectionState,
  type ListPage,
  type ListQuery,
  listConnections,
} from './list.js';
import { BackChannel, LOGOUT_INDEX_MAX, LOGOUT_TOMBSTONE_MS, type LogoutTarget } from './logoutIndex.js';
import type { ConnectionOptions } from './options.js';
import {
  type ConnectionRecord,
  type ConnectionView,
  type EndReason,
  MAX_RECORD_MS,
  Records,
  newRecord,
  viewOf,
} from './record.js';
import { renewInPlace, revokeAtProvider } from './reconnect.js';
import { type Disconnected, disconnect, type EndReasonOfService } from './ending.js';
import { type RelocateDeps, type ResealOutcome, reseal, type TransferOutcome, transfer } from './relocate.js';
import { Refresher } from './refresh.js';
import { STORE_RETRY_MS } from './refreshCall.js';

export { LOCK_LEASE_MS, LOCK_RENEW_MS, type LockTiming, REFRESH_WAIT_MS, refreshLockKey, STORE_RETRY_MS };
export { LOGOUT_INDEX_MAX, LOGOUT_TOMBSTONE_MS, type LogoutTarget, MAX_RECORD_MS };
export type { ConnectionOptions, ConnectionRecord, ConnectionView, EndReason };
export type { ConnectionListItem, ConnectionState, ListPage, ListQuery };
export { CONNECTION_STATES, LIST_READ_MAX } from './list.js';

export class Connections {
  private readonly now: () => number;
  private readonly locks: RefreshLocks;
  private readonly records: Records;
  private readonly backChannel: BackChannel;
  private readonly refresher: Refresher;

  constructor(private readonly opts: ConnectionOptions) {
    this.now = opts.now ?? Date.now;
    const timing = {
      lockLeaseMs: LOCK_LEASE_MS,
      lockRenewMs: LOCK_RENEW_MS,
      refreshWaitMs: REFRESH_WAIT_MS,
      ...opts.timing,
    };
    this.locks = new RefreshLocks({ store: opts.store, logger: opts.logger, timing, maxHoldMs: opts.lockMaxHoldMs });
    this.records = new Records({ ...opts, now: this.now });
    this.backChannel = new BackChannel({ ...opts, records: this.records, now: this.now });
    this.refresher = new Refresher({
      ...opts,
      records: this.records,
      backChannel: this.backChannel,
      locks: this.locks,
      timing,
      now: this.now,
    });
  }

  /** The record, or null; an active one that a back-channel logout named since it was made ends here and reads as none. */
  async read(owner: string, provider: string): Promise<ConnectionRecord | null> {
    return (await this.backChannel.read(owner, provider)).rec;
  }

  /** The record a stored value of a page holds (as pageConnections() returns it), or null when no key opens it. */
  peek(owner: string, provider: string, blob: string): ConnectionRecord | null {
    return this.records.openListed(owner, provider, blob);
  }

  /** A page of the subjects' connections (list.ts), each as read() would see it; unreadable records skipped. */
  list(q: ListQuery): Promise<ListPage> {
    const current = async (owner: string, rec: ConnectionRecord) =>
      (await this.backChannel.loggedOut(rec)) ? this.read(owner, rec.provider) : rec;
    return listConnections({ store: this.opts.store, records: this.records, logger: this.opts.logger, current }, q);
  }

  // ---------- logging in and out ----------

  /**
   * Stores a brand-new token set after a code exchange (replacing whatever was there). `subject`
   * is the institution's user id for a linked login (then `owner` is that subject's key);
   * `loginStartedAt`, when the login transaction was started (see BackChannel.loggedOut()).
   * `freshOwner`: the caller has just made `owner` (rotateOwner), so nothing is stored under it to replace.
   */
  async connect(
    owner: string,
    provider: string,
    t: TokenResponse,
    subject?: string,
    loginStartedAt?: number,
    { freshOwner = false }: { freshOwner?: boolean } = {},
  ): Promise<ConnectionRecord> {
    if (!freshOwner) await this.discard(owner, provider); // a connection replaced by this login has ended: say so
    const now = await this.backChannel.loginTime(provider, { sid: t.sid, sub: t.userId });
    const rec = newRecord(provider, t, { subject, loginStartedAt, connectedAt: now });
    await this.backChannel.index(owner, rec); // first: a connection stored is always one a back-channel logout can find
    const event = this.records.event(owner, 'connection.created', rec);
    await this.opts.store.putConnection(
      owner,
      provider,
      this.records.seal(owner, rec),
      this.records.ttlFor(owner, rec),
      event,
      this.records.dueOf(owner, rec),
    );
    this.records.written(event);
    this.opts.onConnected?.(owner, provider);
    return rec;
  }

  /** A reconnect: renews the stored connection in place (reconnect.ts), else connects anew (connect()). */
  async reconnect(owner: string, provider: string, t: TokenResponse, subject?: string, loginStartedAt?: number) {
    const deps = { store: this.opts.store, records: this.records, backChannel: this.backChannel };
    const rec = await renewInPlace(deps, owner, provider, t, { subject, loginStartedAt });
    if (!rec) return { rec: await this.connect(owner, provider, t, subject, loginStartedAt), renewed: false };
    this.opts.onConnected?.(owner, provider);
    return { rec, renewed: true };
  }

  /**
   * Forgets the connection, reporting its end (`disconnected`) when it was active; no revocation:
   * used when a new login replaces it, and revoking could end the new grant too (a provider may
   * revoke the whole grant, and a new login at the same provider session can share it).
   */
  async discard(owner: string, provider: string): Promise<void> {
    const rec = await this.read(owner, provider);
    if (!rec) return;
    const event =
      rec.status === 'active' ? this.records.event(owner, 'connection.ended', rec, 'disconnected') : undefined;
    if (await this.opts.store.deleteConnection(owner, provider, event)) this.records.written(event);
    await this.backChannel.unindex(owner, rec);
  }

  /**
   * Forgets the connection locally and revokes the refresh token at the provider (best effort).
   * Idempotent. `reason` is what the webhook says: the person disconnected, or the institution's backend did.
   * Returns the record that was forgotten (its ID token is the hint of an RP-initiated logout) and
   * whether the provider revoked its refresh token (and the id of the `connection.ended` event it
   * queued, if it did), or null when there was nothing to forget. `locked`: see ending.ts.
   */
  disconnect(
    owner: string,
    provider: string,
    reason: EndReasonOfService = 'disconnected',
    locked = false,
  ): Promise<Disconnected | null> {
    return disconnect({ ...this.opts, ...this.relocateDeps() }, owner, provider, reason, locked);
  }

  /**
   * Takes back what connect() just stored as `made`, only while it is still the stored record
   * (compare-and-delete: a newer login's record stays), reported like the service API's
   * disconnect (`revoked_by_service`), its refresh token revoked where the provider can.
   */
  async withdraw(owner: string, provider: string, made: ConnectionRecord): Promise<void> {
    const { rec, blob } = await this.backChannel.read(owner, provider);
    if (!rec || rec.connectedAt !== made.connectedAt || rec.accessToken !== made.accessToken) return;
    const event = this.records.event(owner, 'connection.ended', rec, 'revoked_by_service');
    if (!(await this.opts.store.deleteConnection(owner, provider, event, blob))) return;
    this.records.written(event);
    this.opts.audit?.write('disconnected', { provider, owner, reason: 'revoked_by_service' });
    await this.backChannel.unindex(owner, rec);
    await revokeAtProvider(this.opts, rec.provider, rec.refreshToken);
  }

  // ---------- back-channel logout (logoutIndex.ts) ----------

  /** A back-channel logout from `provider`: ends the connections it names (see BackChannel). Returns how many ended. */
  endByProviderLogout(provider: string, target: LogoutTarget): Promise<number> {
    return this.backChannel.endByProviderLogout(provider, target);
  }

  // ---------- moving to another owner id ----------

  /**
   * Moves a connection to another owner id (at login, when the owner id is rotated). Taken under
   * the provider's refresh lock, so a refresh in flight is stored before the move and never lost.
   */
  transfer(from: string, to: string, provider: string): Promise<TransferOutcome> {
    return transfer(this.relocateDeps(), from, to, provider);
  }

  /** Seals the connection again under the newest key, unchanged, under its refresh lock (relocate.ts reseal()). */
  reseal(owner: string, provider: string): Promise<ResealOutcome> {
    return reseal(this.relocateDeps(), owner, provider);
  }

  private relocateDeps(): RelocateDeps {
    const { store, sealer } = this.opts;
    return { store, sealer, locks: this.locks, records: this.records, backChannel: this.backChannel, now: this.now };
  }

  /**
   * Moves every connection of `from` to `to` (an owner id rotated at login or at a link), each
   * under its provider's refresh lock (transfer()). `replacing`: the provider a login is connecting
   * anew; its old connection is not moved but ended (discard(), `disconnected`), as the login replaces it.
   */
  async moveOwner(from: string, to: string, replacing?: string): Promise<void> {
    for (const provider of this.opts.providers.keys()) {
      if (provider === replacing) await this.discard(from, provider);
      else if ((await this.transfer(from, to, provider)) === 'busy') await this.discard(from, provider); // not left behind unreported
    }
  }

  // ---------- following the session ----------

  /**
   * The session of `owner` is stored until `expiresAt`: its connections end then too (a
   * compare-and-set of the same record with a new TTL, so a refresh that lands meanwhile wins).
   */
  async followSession(owner: string, expiresAt: number): Promise<void> {
    for (const provider of this.opts.providers.keys()) {
      const { rec, blob } = await this.records.readStored(owner, provider); // its TTL only: the next read does the logout check
      if (!rec) continue;
      const ttl = Math.max(1000, Math.min(this.records.ttlFor(owner, rec), expiresAt - this.now()));
      await this.opts.store.replaceConnection(owner, provider, blob, ttl, blob);
    }
  }

  /** The session of `owner` ended (SESSION_MAX_AGE): its connections are swept with it, as its TTL would have. */
  async forgetOwner(owner: string): Promise<void> {
    for (const provider of this.opts.providers.keys()) await this.opts.store.deleteConnection(owner, provider);
  }

  // ---------- using a connection (refresh.ts) ----------

  /**
   * The connection, refreshed first when its access token is stale. Throws
   * `provider_unavailable` (503) only when the token has expired and the provider cannot be reached.
   */
  ensureFresh(owner: string, provider: string): Promise<ConnectionRecord | null> {
    return this.refresher.ensureFresh(owner, provider);
  }

  /** After the provider answered 401 to `rejectedToken`: refresh unless someone already has. */
  refreshAfterRejection(owner: string, provider: string, rejectedToken: string): Promise<ConnectionRecord | null> {
    return this.refresher.refreshAfterRejection(owner, provider, rejectedToken);
  }

  /** A usable access token, or an AppError saying what the person should do. */
  async accessToken(owner: string, provider: string): Promise<string> {
    return (await this.access(owner, provider)).token;
  }

  /** A usable access token and the provider's id of the person (for per-user limits), or the AppError of accessToken(). */
  async access(owner: string, provider: string): Promise<{ token: string; userId?: string }> {
    const rec = await this.ensureFresh(owner, provider);
    if (this.refresher.usable(rec)) return { token: rec.accessToken, userId: rec.userId };
    throw rec?.status === 'ended'
      ? new AppError('reconnect_required', { provider, detail: { reason: rec.endReason } })
      : new AppError('not_connected', { provider });
  }

  /** The page/API view. connected is true only while a usable token is held. */
  async view(owner: string | undefined, provider: string): Promise<ConnectionView> {
    if (!owner) return { provider, connected: false, reason: 'not_connected' };
    const rec = await this.ensureFresh(owner, provider);
    if (!rec) return { provider, connected: false, reason: 'not_connected' };
    return viewOf(provider, rec, this.refresher.usable(rec));
  }
}

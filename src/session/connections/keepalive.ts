/**
 * The keeper's turn at one due connection (keeper.ts walks the expiry index and calls keep() for
 * each entry). Everything happens under the connection's refresh lock, the one every refresh takes,
 * and every write is a compare-and-set against the record read under it:
 *  - a connection another replica (or a request) has just refreshed is no longer due when read
 *    under the lock, and is left alone: no connection is refreshed twice;
 *  - refresh (when KEEPALIVE is on, the provider is not known not to slide, and it is not backing
 *    off): the refresh call of any refresh (refreshCall.ts), counted as outcome="keepalive", after a
 *    slot from the XT.COM guard as caller 'keeper' for XT.COM. Its answer tells whether the provider
 *    slides (ConnectionRecord.slides);
 *  - warn: within EXPIRY_WARNING of the end and still not extended, `connection.expiring` is written
 *    with the record's mark (expiryWarnedFor) in one atomic step: sent once per expiry, whatever
 *    restarts or replicas do.
 */
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import type { Sealer } from '../crypto.js';
import type { AuthStore } from '../../store/types.js';
import { type ExpiringReason, expiringEvent } from './events.js';
import { type RefreshLocks, refreshLockKey } from './lock.js';
import type { BackChannel } from './logoutIndex.js';
import type { ConnectionRecord, Records } from './record.js';
import type { RefreshCall } from './refreshCall.js';

export interface KeepAliveOptions {
  store: AuthStore;
  sealer: Sealer;
  logger: Logger;
  now: () => number;
  records: Records;
  backChannel: BackChannel;
  locks: RefreshLocks;
  call: RefreshCall;
  /** KEEPALIVE: refresh at all. */
  enabled: boolean;
  windowMs: number;
  warningMs: number;
  webhooks: boolean;
  onEvent?: () => void;
  /**
   * A slot from the XT.COM guard as caller 'keeper' (context.ts: guard.take(userId, 'other', 'keeper')),
   * taken before each refresh at XT.COM; throws AppError rate_limited when none comes.
   */
  xtSlot?: (userId: string) => Promise<void>;
}

export type KeepOutcome = 'refreshed' | 'warned' | 'busy' | 'nothing';

/** The XT.COM guard refused a slot: the keeper's share of the budget is used up for now (the pass stops). */
export class BudgetSpent extends Error {}

export class KeepAlive {
  constructor(private readonly opts: KeepAliveOptions) {}

  /** One due connection: refreshed, warned about, or left (busy: another holds its refresh lock). */
  async keep(owner: string, provider: string): Promise<KeepOutcome> {
    const lock = await this.opts.locks.tryAcquire(refreshLockKey(owner, provider), provider);
    if (lock === null) return 'busy';
    try {
      let { rec, blob } = await this.opts.backChannel.read(owner, provider);
      if (!this.active(rec)) return 'nothing';
      if (this.shouldRefresh(rec)) {
        const before = rec.refreshExpiresAt;
        await this.slot(rec);
        const after = await this.opts.call.refreshNow(owner, rec, blob, 'keepalive');
        if (this.active(after) && after.refreshExpiresAt > before) return 'refreshed';
        ({ rec, blob } = await this.opts.backChannel.read(owner, provider));
        if (!this.active(rec)) return 'nothing';
      }
      return (await this.warn(owner, rec, blob)) ? 'warned' : 'nothing';
    } finally {
      await lock.release();
    }
  }

  /**
   * Whether the index entry's stored value (read with the page, no lock) asks for any work: a
   * connection already warned about for this expiry that will not be refreshed is passed over.
   */
  worthALook(owner: string, provider: string, value: string): boolean {
    const rec = this.opts.records.openListed(owner, provider, value);
    if (!this.active(rec)) return false;
    return this.shouldRefresh(rec) || rec.expiryWarnedFor !== rec.refreshExpiresAt;
  }

  private active(rec: ConnectionRecord | null): rec is ConnectionRecord & { refreshExpiresAt: number } {
    return rec !== null && rec.status === 'active' && rec.refreshExpiresAt !== undefined;
  }

  /**
   * Within KEEPALIVE_WINDOW of its end or, once a refresh has shown how long the provider's refresh
   * tokens live (from that refresh to the new token's expiry), within half that life when it is
   * shorter: a provider whose refresh tokens live less than the window is then refreshed about
   * twice a life, not at every pass.
   */
  private shouldRefresh(rec: ConnectionRecord & { refreshExpiresAt: number }): boolean {
    const now = this.opts.now();
    if (!this.opts.enabled || rec.slides === false) return false;
    const life = rec.lastRefreshedAt === undefined ? Infinity : rec.refreshExpiresAt - rec.lastRefreshedAt;
    if (rec.refreshExpiresAt - now > Math.min(this.opts.windowMs, life / 2)) return false;
    return rec.nextRefreshAt === undefined || now >= rec.nextRefreshAt;
  }

  /** A slot from the XT.COM guard, for a refresh at XT.COM; none needed elsewhere. */
  private async slot(rec: ConnectionRecord): Promise<void> {
    if (rec.provider !== 'xt' || !this.opts.xtSlot) return;
    try {
      await this.opts.xtSlot(rec.userId ?? 'keeper');
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') throw new BudgetSpent();
      throw err;
    }
  }

  /** Why the keeper cannot extend `rec`. */
  private reason(rec: ConnectionRecord): ExpiringReason {
    if (!this.opts.enabled) return 'keepalive_off';
    return rec.slides === false ? 'not_sliding' : 'refresh_failing';
  }

  /** `connection.expiring`, once per expiry, with its mark in the record: one compare-and-set. */
  private async warn(
    owner: string,
    rec: ConnectionRecord & { refreshExpiresAt: number },
    blob: string,
  ): Promise<boolean> {
    const now = this.opts.now();
    if (rec.refreshExpiresAt - now > this.opts.warningMs || rec.expiryWarnedFor === rec.refreshExpiresAt) return false;
    // The keeper will still extend it (on, sliding or not yet known, no refresh failing): no warning.
    if (this.reason(rec) === 'refresh_failing' && rec.refreshFailures === 0) return false;
    // The version stays: nothing a waiting refresh needs to know changed (the tokens are the same).
    const next: ConnectionRecord = { ...rec, expiryWarnedFor: rec.refreshExpiresAt };
    const reason = this.reason(rec);
    const event = this.opts.webhooks
      ? expiringEvent(this.opts.sealer, now, owner, rec, rec.refreshExpiresAt, reason)
      : undefined;
    const { records } = this.opts;
    const wrote = await this.opts.store.replaceConnection(
      owner,
      rec.provider,
      records.seal(owner, next),
      records.ttlFor(owner, next),
      blob,
      event,
      records.dueOf(owner, next),
    );
    if (!wrote) return false;
    if (event) this.opts.onEvent?.();
    this.opts.logger.info({ provider: rec.provider, reason }, 'connection.expiring: the connection will end soon');
    return true;
  }
}

/**
 * One refresh, made under the refresh lock (refresh.ts decides when, and who makes it): the
 * provider's refresh call, and what its answer does to the record. New tokens are stored (tried
 * again while the store is briefly away), a transient failure is deferred with back-off, a
 * rejection or an expiry ends the connection. Each write is a compare-and-set against the record
 * read under the lock.
 */
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import type { Provider } from '../../providers/types.js';
import type { Audit } from '../../shared/audit.js';
import { isExpired } from '../../shared/expiry.js';
import type { Metrics } from '../../shared/metrics.js';
import type { TokenResponse } from '../../shared/tokens.js';
import type { AuthStore, OutboxEvent } from '../../store/types.js';
import type { EndedReason } from './events.js';
import { sleep } from './lock.js';
import type { BackChannel } from './logoutIndex.js';
import type { ConnectionRecord, EndReason, Records } from './record.js';

/** How long the answer of a refresh call is kept trying to reach a store that is briefly away. */
export const STORE_RETRY_MS = 5000;

/** How a record's end reason is reported to the webhook: a connection without a refresh token that ran out has expired too. */
const ENDED_REASON: Record<EndReason, EndedReason | undefined> = {
  refresh_rejected: 'refresh_rejected',
  refresh_expired: 'refresh_expired',
  access_expired: 'refresh_expired',
  unreadable: undefined,
};

/**
 * Whether the provider slides its refresh tokens, from what a refresh at `now` returned: the refresh
 * token it leaves (a new one, or the old one kept) expires later than the old one did. Equal expiries
 * within 2 s of the old token's issue tell nothing (expiries in whole seconds); unknown ones keep what was known.
 */
export function slidesAfter(cur: ConnectionRecord, t: TokenResponse, now: number): boolean | undefined {
  const before = cur.refreshExpiresAt;
  const after = t.refreshToken ? t.refreshExpiresAt : before;
  if (before === undefined || after === undefined) return cur.slides;
  if (after > before) return true;
  return now - (cur.lastRefreshedAt ?? cur.connectedAt) < 2000 ? cur.slides : false;
}

export interface RefreshCallOptions {
  records: Records;
  backChannel: BackChannel;
  store: AuthStore;
  providers: Map<string, Provider>;
  logger: Logger;
  now: () => number;
  backoffBaseMs?: number;
  backoffMaxMs: number;
  metrics?: Metrics;
  audit?: Audit;
}

export class RefreshCall {
  private readonly now: () => number;

  constructor(private readonly opts: RefreshCallOptions) {
    this.now = opts.now;
  }

  private async read(owner: string, provider: string): Promise<ConnectionRecord | null> {
    return (await this.opts.backChannel.read(owner, provider)).rec;
  }

  /**
   * Refreshes `cur` (read under the lock as `blob`) at its provider, and stores what follows from the
   * answer. `outcome`: how a success is counted (the keeper's are 'keepalive').
   */
  async refreshNow(
    owner: string,
    cur: ConnectionRecord,
    blob: string,
    outcome: 'ok' | 'keepalive' = 'ok',
  ): Promise<ConnectionRecord | null> {
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
        this.opts.logger.info(
          { provider: cur.provider, detail: err.detail },
          'refresh rejected by the provider; connection ended',
        );
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
      slides: slidesAfter(cur, t, now),
    };
    this.opts.logger.info(
      { provider: cur.provider, rotated: !!t.refreshToken && t.refreshToken !== cur.refreshToken },
      'tokens refreshed',
    );
    this.opts.metrics?.refreshes.inc({ provider: cur.provider, outcome });
    return this.storeRefreshed(owner, next, blob);
  }

  /**
   * The provider has acted (a rotating provider has already retired the old refresh token), so
   * its answer is worth more than one try at the store: a store that is briefly away (a Redis
   * reconnect after a pause, say) is tried again for up to STORE_RETRY_MS before giving up.
   */
  private async storeRefreshed(
    owner: string,
    next: ConnectionRecord,
    expected: string,
  ): Promise<ConnectionRecord | null> {
    const giveUpAt = Date.now() + STORE_RETRY_MS;
    for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
      try {
        return await this.replace(owner, next, expected);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'store_unavailable' || Date.now() + wait > giveUpAt) throw err;
        this.opts.logger.warn(
          { provider: next.provider, retryInMs: wait },
          'the refreshed tokens could not be stored yet; trying again',
        );
        await sleep(wait);
      }
    }
  }

  /** A transient failure: keep everything, back off exponentially before the next attempt. */
  private async deferRefresh(
    owner: string,
    cur: ConnectionRecord,
    err: unknown,
    blob: string,
  ): Promise<ConnectionRecord | null> {
    const failures = cur.refreshFailures + 1;
    const base = this.opts.backoffBaseMs ?? 2000;
    const delay = Math.min(this.opts.backoffMaxMs, base * 2 ** Math.min(failures - 1, 20));
    const next: ConnectionRecord = {
      ...cur,
      version: cur.version + 1,
      refreshFailures: failures,
      nextRefreshAt: this.now() + delay,
    };
    const code = err instanceof AppError ? err.code : 'internal';
    this.opts.logger.warn(
      {
        provider: cur.provider,
        code,
        detail: err instanceof AppError ? err.detail : undefined,
        failures,
        retryInMs: delay,
      },
      'refresh failed transiently; will retry later',
    );
    return this.replace(owner, next, blob);
  }

  private async end(
    owner: string,
    cur: ConnectionRecord,
    reason: EndReason,
    blob: string,
  ): Promise<ConnectionRecord | null> {
    const ended: ConnectionRecord = {
      v: 1,
      provider: cur.provider,
      status: 'ended',
      version: cur.version + 1,
      connectionId: cur.connectionId, // the same connection, ended: a reconnect renews it under this id
      subject: cur.subject,
      userId: cur.userId,
      connectedAt: cur.connectedAt,
      refreshFailures: 0,
      endedAt: this.now(),
      endReason: reason,
    };
    const reported = ENDED_REASON[reason];
    return this.replace(
      owner,
      ended,
      blob,
      reported && this.opts.records.event(owner, 'connection.ended', cur, reported),
    );
  }

  /**
   * Stores `next` only if the record is still `expected`, the one read under the lock. Otherwise
   * it was disconnected (null), or a newer record was stored meanwhile (another refresh after
   * this one's lease lapsed, a new login): that one stands and is returned.
   */
  private async replace(
    owner: string,
    next: ConnectionRecord,
    expected: string,
    event?: OutboxEvent,
  ): Promise<ConnectionRecord | null> {
    if (
      await this.opts.store.replaceConnection(
        owner,
        next.provider,
        this.opts.records.seal(owner, next),
        this.opts.records.ttlFor(owner, next),
        expected,
        event,
        this.opts.records.dueOf(owner, next),
      )
    ) {
      this.opts.records.written(event);
      await this.opts.backChannel.reindex(owner, next);
      return next;
    }
    const now = await this.read(owner, next.provider);
    if (now)
      this.opts.logger.warn(
        { provider: next.provider },
        'the connection changed while it was being refreshed; the newer record stands',
      );
    return now;
  }
}

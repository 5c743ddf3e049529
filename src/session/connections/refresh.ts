/**
 * Refresh coordination, in order:
 *  1. in-process single-flight: concurrent requests of one session share one promise;
 *  2. a store lock (SQLite row or Redis SET NX PX, see lock.ts) so several processes do the same;
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
import { AppError } from '../../errors.js';
import type { Provider } from '../../providers/types.js';
import type { Audit } from '../../shared/audit.js';
import { isExpired, isStale } from '../../shared/expiry.js';
import type { Metrics } from '../../shared/metrics.js';
import type { TokenResponse } from '../../shared/tokens.js';
import type { AuthStore, OutboxEvent } from '../../store/types.js';
import type { EndedReason } from './events.js';
import { type LockTiming, type RefreshLocks, refreshLockKey } from './lock.js';
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RefreshOptions {
  records: Records;
  backChannel: BackChannel;
  locks: RefreshLocks;
  timing: LockTiming;
  store: AuthStore;
  providers: Map<string, Provider>;
  logger: Logger;
  now: () => number;
  skewMs: number;
  backoffBaseMs?: number;
  backoffMaxMs: number;
  metrics?: Metrics;
  audit?: Audit;
}

export class Refresher {
  private readonly inflight = new Map<string, Promise<ConnectionRecord | null>>();
  private readonly now: () => number;

  constructor(private readonly opts: RefreshOptions) {
    this.now = opts.now;
  }

  private async read(owner: string, provider: string): Promise<ConnectionRecord | null> {
    return (await this.opts.backChannel.read(owner, provider)).rec;
  }

  /** True while `rec` holds an access token that has not expired. */
  usable(rec: ConnectionRecord | null): rec is ConnectionRecord & { accessToken: string } {
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
  async refreshAfterRejection(
    owner: string,
    provider: string,
    rejectedToken: string,
  ): Promise<ConnectionRecord | null> {
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
        detail: {
          reason: 'refresh deferred',
          retryAfterMs: Math.max(0, (rec.nextRefreshAt ?? this.now()) - this.now()),
        },
      });
    }
    return rec;
  }

  private refreshShared(
    owner: string,
    provider: string,
    seenVersion: number,
    force: boolean,
  ): Promise<ConnectionRecord | null> {
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
      timer = setTimeout(() => r('timeout'), this.opts.timing.refreshWaitMs);
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
    return this.orProviderDown(
      { ...cur, accessToken: undefined, nextRefreshAt: this.now() + this.opts.timing.lockLeaseMs },
      cur.provider,
    );
  }

  /** Another request or replica refreshed while this one waited for the lock: no call of ours. */
  private skipped(provider: string, cur: ConnectionRecord | null): ConnectionRecord | null {
    this.opts.metrics?.refreshes.inc({ provider, outcome: 'skipped_by_lock' });
    return cur;
  }

  private async refreshLocked(
    owner: string,
    provider: string,
    seenVersion: number,
    force: boolean,
  ): Promise<ConnectionRecord | null> {
    const lockKey = refreshLockKey(owner, provider);
    const giveUpAt = this.now() + this.opts.timing.refreshWaitMs;
    let lock = await this.opts.locks.tryAcquire(lockKey, provider);
    while (lock === null) {
      // Another process is refreshing. Wait for its result rather than calling the provider too;
      // a crashed holder's lease runs out within LOCK_LEASE_MS, and then this request takes over.
      await sleep(50);
      const cur = await this.read(owner, provider);
      if (!cur || cur.status !== 'active' || cur.version !== seenVersion) return this.skipped(provider, cur);
      if (this.now() >= giveUpAt) return this.stopWaiting(cur, force);
      lock = await this.opts.locks.tryAcquire(lockKey, provider);
    }
    try {
      const { rec: cur, blob } = await this.opts.backChannel.read(owner, provider); // look again, under the lock
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
    };
    this.opts.logger.info(
      { provider: cur.provider, rotated: !!t.refreshToken && t.refreshToken !== cur.refreshToken },
      'tokens refreshed',
    );
    this.opts.metrics?.refreshes.inc({ provider: cur.provider, outcome: 'ok' });
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
}

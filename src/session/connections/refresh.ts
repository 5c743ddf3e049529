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
 *
 * The refresh call itself, and the write that follows from its answer, are in refreshCall.ts.
 *
 * With tracing on, each request's refresh is a span (connection.refresh: the provider and whether
 * it was forced) with the waits as events: joining another request's refresh, and the store lock's wait.
 */
import { AppError } from '../../errors.js';
import { isExpired, isStale } from '../../shared/expiry.js';
import { inSpan, spanEvent } from '../../shared/tracing.js';
import { type LockTiming, type RefreshLocks, refreshLockKey, sleep } from './lock.js';
import type { ConnectionRecord } from './record.js';
import { RefreshCall, type RefreshCallOptions } from './refreshCall.js';

export interface RefreshOptions extends RefreshCallOptions {
  locks: RefreshLocks;
  timing: LockTiming;
  skewMs: number;
}

export class Refresher {
  private readonly inflight = new Map<string, Promise<ConnectionRecord | null>>();
  private readonly now: () => number;
  private readonly call: RefreshCall;

  constructor(private readonly opts: RefreshOptions) {
    this.now = opts.now;
    this.call = new RefreshCall(opts);
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
    const attributes = { 'xtc.provider': provider, 'xtc.refresh.forced': force };
    return inSpan('connection.refresh', { attributes }, () => {
      const key = `${owner}:${provider}`;
      const running = this.inflight.get(key);
      if (running) {
        spanEvent('refresh.joined'); // another request of this process is refreshing
        return this.joinRefresh(running, owner, provider, seenVersion, force);
      }
      const p = this.refreshLocked(owner, provider, seenVersion, force).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
      return p;
    });
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
    const waitStarted = performance.now();
    const waited = (outcome: string) =>
      spanEvent('refresh.lock_wait', { outcome, wait_ms: Math.round(performance.now() - waitStarted) });
    while (lock === null) {
      // Another process is refreshing. Wait for its result rather than calling the provider too;
      // a crashed holder's lease runs out within LOCK_LEASE_MS, and then this request takes over.
      await sleep(50);
      const cur = await this.read(owner, provider);
      if (!cur || cur.status !== 'active' || cur.version !== seenVersion) {
        waited('refreshed_elsewhere');
        return this.skipped(provider, cur);
      }
      if (this.now() >= giveUpAt) {
        waited('gave_up');
        return this.stopWaiting(cur, force);
      }
      lock = await this.opts.locks.tryAcquire(lockKey, provider);
      if (lock) waited('acquired');
    }
    try {
      const { rec: cur, blob } = await this.opts.backChannel.read(owner, provider); // look again, under the lock
      if (!cur || cur.status !== 'active') return cur;
      if (cur.version !== seenVersion) return this.skipped(provider, cur);
      if (!force && !this.stale(cur)) return this.skipped(provider, cur);
      return await this.call.refreshNow(owner, cur, blob);
    } finally {
      await lock.release();
    }
  }
}

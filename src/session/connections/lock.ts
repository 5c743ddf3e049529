/**
 * The refresh lock: a short lease in the shared store (SQLite row or Redis key), renewed by its
 * holder while its refresh call is alive, so the lock of a process that crashed is free again
 * within seconds. Held locks are released by their holder; a lapsed one is never revived.
 */
import type { Logger } from 'pino';
import type { LockStore } from '../../store/types.js';

export interface LockTiming {
  lockLeaseMs: number;
  lockRenewMs: number;
  refreshWaitMs: number;
}

/** The key of the refresh lock of one owner's connection to one provider. */
export const refreshLockKey = (owner: string, provider: string) => `refresh:${owner}:${provider}`;

/**
 * The refresh lock's lease. A lock left by a process that died is free again after at most this
 * long (SQLite often sees at once that its holder is gone: store/holder.ts). Short, because
 * the first requests after a crash wait for it; the holder renews it every LOCK_RENEW_MS, so
 * two renewals may go missing (a slow store, a busy event loop) before it lapses.
 */
export const LOCK_LEASE_MS = 3000;
export const LOCK_RENEW_MS = 1000;
/**
 * The longest a request waits for another request's refresh (in this process or another).
 * Together with the lease it keeps the first request after a crash under 5 s.
 */
export const REFRESH_WAIT_MS = 4000;

/** A pause between two attempts (at a lock someone else holds, or at a store that is briefly away). */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock this process holds; its lease is renewed until it is released. */
export interface HeldLock {
  release(): Promise<void>;
}

export interface RefreshLockOptions {
  store: LockStore;
  logger: Logger;
  timing: LockTiming;
  /** The longest a holder keeps renewing (longer than the provider timeout). */
  maxHoldMs: number;
}

export class RefreshLocks {
  constructor(private readonly opts: RefreshLockOptions) {}

  /** The longest a lock can stay held: its holder's longest hold, then its lease running out. */
  get longestHoldMs(): number {
    return this.opts.maxHoldMs + this.opts.timing.lockLeaseMs;
  }

  /** One attempt: the lock, renewing its lease until released, or null while someone else holds it. */
  async tryAcquire(lockKey: string, provider: string): Promise<HeldLock | null> {
    const token = await this.opts.store.acquireLock(lockKey, this.opts.timing.lockLeaseMs);
    if (token === null) return null;
    const lease = this.holdLease(lockKey, token, provider);
    return {
      release: async () => {
        lease.stop();
        await this.opts.store.releaseLock(lockKey, token).catch(() => undefined);
      },
    };
  }

  /**
   * Keeps the lock's lease alive while its holder works: renewed every LOCK_RENEW_MS, for
   * lockMaxHoldMs at most. If it was lost anyway (the process stalled, the store was away), the
   * compare-and-set write still keeps this refresh from writing over a newer record.
   */
  private holdLease(lockKey: string, token: string, provider: string): { stop(): void } {
    const started = performance.now();
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const renew = async () => {
      if (stopped) return;
      if (performance.now() - started >= this.opts.maxHoldMs) {
        this.opts.logger.warn({ provider }, 'a refresh outlasted the longest lock hold; its lock is left to lapse');
        return;
      }
      try {
        if (!(await this.opts.store.extendLock(lockKey, token, this.opts.timing.lockLeaseMs))) {
          this.opts.logger.warn({ provider }, 'the refresh lock lapsed while its refresh was in flight');
          return;
        }
      } catch {
        // The store did not answer this time; try again at the next tick while the lease lasts.
      }
      schedule();
    };
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(() => void renew(), this.opts.timing.lockRenewMs);
      timer.unref();
    };
    schedule();
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }
}

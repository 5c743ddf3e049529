/**
 * The keeper: a background worker in every replica that keeps subjects' connections alive and
 * warns before one ends (issue 25). It shares its work through the store the way the webhook
 * outbox does:
 *  - the expiry index (ConnectionStore.dueConnections) has `duePartitions` partitions (Redis 16,
 *    one elsewhere); a pass takes each partition under a lease (a store lock, renewed after every
 *    connection), so two replicas never work one partition at once, and a dead holder's lease runs
 *    out (KEEPER_LEASE_MS) and the partition is taken over at the next pass;
 *  - a finished partition is marked done for the current interval, so the other replicas' passes
 *    in that interval skip it;
 *  - a pass reads only the due entries: those whose refresh token expires within the larger of
 *    KEEPALIVE_WINDOW (when KEEPALIVE is on) and EXPIRY_WARNING; each is handed to KeepAlive
 *    (keepalive.ts), which refreshes or warns under the connection's refresh lock;
 *  - a pass at start and then every KEEPALIVE_INTERVAL; stop() lets the connection in hand finish.
 * Records stored before the index existed are indexed once, by keeperBackfill.ts.
 */
import type { Logger } from 'pino';
import type { AuthStore, DueConnection } from '../../store/types.js';
import { backfillExpiryIndex } from './keeperBackfill.js';
import { BudgetSpent, type KeepAlive, type KeepOutcome } from './keepalive.js';
import type { Records } from './record.js';

/** How long a partition's lease lasts without renewal (a dead holder's is free again after this). */
export const KEEPER_LEASE_MS = 30_000;
/** Due entries read per page. */
const PAGE = 100;
/**
 * After a pass that used up the keeper's share of the XT.COM budget, the next one comes this soon
 * (the guard's window), not KEEPALIVE_INTERVAL later: the keeper then refreshes at its share's pace
 * (KEEPALIVE_SHARE of XT_API_IP_LIMIT a minute) while work waits, not at one share a pass.
 */
export const BUDGET_RETRY_MS = 60_000;

export interface KeeperOptions {
  store: AuthStore;
  records: Records;
  keepAlive: KeepAlive;
  logger: Logger;
  now: () => number;
  /** KEEPALIVE: refresh at all (the warnings run either way). */
  enabled: boolean;
  windowMs: number;
  intervalMs: number;
  warningMs: number;
  /** Test hook: the partition lease. */
  leaseMs?: number;
  /** Test hook: BUDGET_RETRY_MS. */
  budgetRetryMs?: number;
}

export type PassStats = Record<KeepOutcome | 'partitions', number>;

export class Keeper {
  private loop?: Promise<void>;
  private stopRequested = false;
  private wake?: () => void;
  private indexed = false;
  /** The last pass stopped because the keeper's share of the XT.COM budget was used up. */
  private budgetSpent = false;

  constructor(private readonly opts: KeeperOptions) {}

  /** Starts the loop: a pass now, then every KEEPALIVE_INTERVAL (once: a second call does nothing). */
  start(): void {
    if (this.loop || this.stopRequested) return;
    this.loop = this.run();
  }

  /** Stops the loop; the connection in hand is finished first (its refresh is bounded by the provider timeout). */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopRequested) {
      try {
        await this.pass();
      } catch (err) {
        this.opts.logger.warn({ err: errorCode(err) }, 'keeper: the pass failed; trying again at the next one');
      }
      const soon = this.budgetSpent ? (this.opts.budgetRetryMs ?? BUDGET_RETRY_MS) : Infinity;
      if (!this.stopRequested) await this.sleep(Math.min(this.opts.intervalMs, soon));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** One pass over every partition this replica can lease. */
  async pass(): Promise<PassStats> {
    const stats: PassStats = { refreshed: 0, warned: 0, busy: 0, nothing: 0, partitions: 0 };
    if (!this.indexed) this.indexed = await backfillExpiryIndex(this.opts);
    const slot = Math.floor(this.opts.now() / this.opts.intervalMs);
    const n = this.opts.store.duePartitions;
    const first = Math.floor(Math.random() * n); // replicas start at different partitions
    this.budgetSpent = false;
    try {
      for (let i = 0; i < n && !this.stopRequested; i++) await this.partition((first + i) % n, slot, stats);
    } catch (err) {
      if (!(err instanceof BudgetSpent)) throw err;
      this.budgetSpent = true;
      this.opts.logger.info('keeper: its share of the XT.COM budget is used up; the rest waits for the next pass');
    }
    if (stats.refreshed + stats.warned > 0) this.opts.logger.info({ ...stats }, 'keeper: pass done');
    return stats;
  }

  /** One partition, under its lease, unless another replica holds it or has done it in this interval. */
  private async partition(p: number, slot: number, stats: PassStats): Promise<void> {
    const { store } = this.opts;
    const doneKey = `keeper:done:${p}:${slot}`;
    if (await store.hasMark(doneKey)) return;
    const leaseKey = `keeper:p${p}`;
    const leaseMs = this.opts.leaseMs ?? KEEPER_LEASE_MS;
    const lease = await store.acquireLock(leaseKey, leaseMs);
    if (lease === null) return;
    try {
      stats.partitions++;
      if (await this.walk(p, stats, () => store.extendLock(leaseKey, lease, leaseMs)))
        await store.markOnce(doneKey, this.opts.intervalMs);
    } finally {
      await store.releaseLock(leaseKey, lease).catch(() => undefined);
    }
  }

  /**
   * The partition's due entries, page by page. True when it is done for this interval; false when
   * stopped, the lease was lost (another replica goes on), or a connection was busy (its refresh
   * lock held, perhaps by a replica that died): then the partition is not marked done, and the next
   * pass of any replica looks again.
   */
  private async walk(p: number, stats: PassStats, renew: () => Promise<boolean>): Promise<boolean> {
    const { enabled, windowMs, warningMs } = this.opts;
    const before = this.opts.now() + Math.max(enabled ? windowMs : 0, warningMs);
    let after: DueConnection | undefined;
    let busy = false;
    for (;;) {
      const page = await this.opts.store.dueConnections({ before, after, limit: PAGE, partition: p });
      for (const d of page) {
        if (this.stopRequested) return false;
        if (!this.opts.keepAlive.worthALook(d.owner, d.provider, d.value)) continue;
        const outcome = await this.opts.keepAlive.keep(d.owner, d.provider);
        stats[outcome]++;
        busy ||= outcome === 'busy';
        if (!(await renew())) return false;
      }
      if (page.length < PAGE) return !busy;
      after = page[page.length - 1];
    }
  }
}

const errorCode = (err: unknown) => (err as { code?: string })?.code ?? (err instanceof Error ? err.message : 'error');

/**
 * The base of MemoryOutbox: its delivery log (attempts in key order, bounded in time and size) and
 * its dead letters.
 */
import type { DeliveryAttempt, DeliveryLog } from '../types.js';
import { MemoryDeadLetters } from './deadLetters.js';

export class MemoryDeliveryLog implements DeliveryLog {
  /** Oldest first (keys sort by time). */
  private readonly log: { a: DeliveryAttempt; expires: number }[] = [];

  protected readonly dead: MemoryDeadLetters;

  constructor(protected readonly now: () => number = Date.now) {
    this.dead = new MemoryDeadLetters(now);
  }

  async logAttempt(a: DeliveryAttempt, keepUntil: number, maxEntries: number): Promise<void> {
    const now = this.now();
    let at = this.log.length;
    while (at > 0 && this.log[at - 1]!.a.key > a.key) at--;
    this.log.splice(at, 0, { a: { ...a }, expires: keepUntil });
    const kept = this.log.filter((e) => e.expires > now);
    this.log.splice(0, this.log.length, ...kept.slice(Math.max(kept.length - maxEntries, 0)));
  }

  async readAttempts(q: {
    before?: string;
    status?: DeliveryAttempt['status'];
    limit: number;
    scan: number;
  }): Promise<{ items: DeliveryAttempt[]; last?: string }> {
    const now = this.now();
    const newest = this.log
      .filter((e) => e.expires > now && (q.before === undefined || e.a.key < q.before))
      .reverse()
      .slice(0, q.scan);
    const items = newest.filter((e) => q.status === undefined || e.a.status === q.status).slice(0, q.limit);
    // The page ends at its last item when it filled up, else at the last entry read (none: the end).
    const last =
      items.length === q.limit
        ? items[items.length - 1]!.a.key
        : newest.length === q.scan
          ? newest[q.scan - 1]!.a.key
          : undefined;
    return { items: items.map((e) => ({ ...e.a })), last };
  }
}

/** The memory store's outbox (see MemoryAuthStore): per group, a queue in creation order. */
import { randomBytes } from 'node:crypto';
import type { ClaimedEvent, DeadLetter, Outbox, OutboxEvent, ReplayQuery } from '../types.js';
import { MemoryDeliveryLog } from './deliveryLog.js';

interface PendingEvent extends OutboxEvent {
  attempts: number;
  dueAt: number;
  lease?: string;
  leaseUntil: number;
}

/** The outbox in one process: per group, a queue in creation order; only each queue's head is claimable. */
export class MemoryOutbox extends MemoryDeliveryLog implements Outbox {
  private readonly groups = new Map<string, PendingEvent[]>();

  add(e: OutboxEvent): void {
    const q = this.groups.get(e.group) ?? [];
    q.push({ ...e, attempts: 0, dueAt: 0, leaseUntil: 0 });
    this.groups.set(e.group, q);
  }

  async claim(max: number, leaseMs: number): Promise<ClaimedEvent[]> {
    const now = this.now();
    const heads = [...this.groups.values()]
      .map((q) => q[0]!)
      .filter((h) => h.dueAt <= now && h.leaseUntil <= now)
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, max);
    return heads.map((h) => {
      h.lease = randomBytes(12).toString('hex');
      h.leaseUntil = now + leaseMs;
      return { id: h.id, group: h.group, value: h.value, createdAt: h.createdAt, attempts: h.attempts, lease: h.lease };
    });
  }

  private held(id: string, lease: string): { q: PendingEvent[]; e: PendingEvent } | undefined {
    for (const q of this.groups.values()) {
      const e = q[0];
      if (e?.id === id && e.lease === lease) return { q, e };
    }
    return undefined;
  }

  async done(id: string, lease: string, keepUntil?: number): Promise<void> {
    const h = this.held(id, lease);
    if (!h) return;
    if (keepUntil !== undefined) this.keep(h.e, keepUntil, 'delivered');
    h.q.shift();
    if (h.q.length === 0) this.groups.delete(h.e.group);
  }

  async retry(id: string, lease: string, nextAttemptAt: number): Promise<void> {
    const h = this.held(id, lease);
    if (!h) return;
    h.e.attempts += 1;
    h.e.dueAt = nextAttemptAt;
    h.e.lease = undefined;
    h.e.leaseUntil = 0;
  }

  async stats(): Promise<{ pending: number; oldestCreatedAt?: number }> {
    let pending = 0;
    let oldest: number | undefined;
    for (const q of this.groups.values()) {
      pending += q.length;
      for (const e of q) oldest = oldest === undefined ? e.createdAt : Math.min(oldest, e.createdAt);
    }
    return { pending, oldestCreatedAt: oldest };
  }

  async bury(id: string, lease: string, keepUntil: number): Promise<void> {
    const h = this.held(id, lease);
    if (!h) return;
    this.keep(h.e, keepUntil, 'dead');
    await this.done(id, lease);
  }

  private keep(e: PendingEvent, keepUntil: number, state: 'dead' | 'delivered'): void {
    const { id, group, value, attempts } = e;
    const createdAt = e.firstCreatedAt ?? e.createdAt;
    this.dead.put({ id, group, value, attempts, createdAt, diedAt: this.now() }, keepUntil, state);
  }

  async replay(q: ReplayQuery): Promise<string[]> {
    const pending = new Set([...this.groups.values()].flatMap((g) => g.map((e) => e.id)));
    const now = this.now();
    return this.dead
      .take(q, (id) => pending.has(id))
      .map((e) => {
        this.add({ id: e.id, group: e.group, value: e.value, createdAt: now, firstCreatedAt: e.createdAt });
        return e.id;
      });
  }

  /**
   * The queue keeps the ids in `keep`, in order; a removed head (even a claimed one: its lease goes
   * with it) leaves the next one as the head, due at once, as done() does.
   */
  async forget(group: string, keep: readonly string[]): Promise<number> {
    const q = this.groups.get(group) ?? [];
    const stay = new Set(keep);
    const left = q.filter((e) => stay.has(e.id));
    if (left.length > 0) this.groups.set(group, left);
    else this.groups.delete(group);
    return q.length - left.length + this.dead.forget(group);
  }

  async deadLetters(max: number): Promise<DeadLetter[]> {
    return this.dead.list(max);
  }
}

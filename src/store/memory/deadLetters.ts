/**
 * The memory outbox's kept events: dead letters (given up on) and delivered events, still sealed,
 * each kept until its expiry for a replay.
 */
import type { DeadLetter, ReplayQuery } from '../types.js';

export type KeptState = 'dead' | 'delivered';
type Kept = DeadLetter & { expires: number; state: KeptState };

export class MemoryDeadLetters {
  private readonly byId = new Map<string, Kept>();

  constructor(private readonly now: () => number) {}

  /**
   * Keeps the event's own fields only (the outbox's bookkeeping, a lease or a due time, stays
   * behind); `createdAt` is when it was first created.
   */
  put(e: DeadLetter, expires: number, state: KeptState = 'dead'): void {
    this.prune();
    const { id, group, value, createdAt, attempts, diedAt } = e;
    this.byId.delete(id);
    this.byId.set(id, { id, group, value, createdAt, attempts, diedAt, expires, state });
  }

  /** Up to `max` dead letters, the earliest buried first. */
  list(max: number): DeadLetter[] {
    this.prune();
    return [...this.byId.values()]
      .filter((e) => e.state === 'dead')
      .sort((a, b) => a.diedAt - b.diedAt || (a.id < b.id ? -1 : 1))
      .slice(0, Math.max(0, Math.floor(max)))
      .map(({ expires: _expires, state: _state, ...e }) => e);
  }

  /** Takes out (and returns) what a replay puts back: see ReplayQuery; `pending` says which ids are queued. */
  take(q: ReplayQuery, pending: (id: string) => boolean): DeadLetter[] {
    this.prune();
    const ids = q.ids && new Set(q.ids);
    const picked = [...this.byId.values()]
      .filter((e) => e.createdAt >= q.since && e.createdAt <= q.until && (!ids || ids.has(e.id)) && !pending(e.id))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
      .slice(0, Math.max(0, Math.floor(q.max)));
    for (const e of picked) this.byId.delete(e.id);
    return picked.map(({ expires: _expires, state: _state, ...e }) => e);
  }

  /** Removes every kept event of `group` (dead or delivered); how many (not yet expired) there were. */
  forget(group: string): number {
    this.prune();
    let n = 0;
    for (const [id, e] of this.byId) if (e.group === group && this.byId.delete(id)) n++;
    return n;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, e] of this.byId) if (e.expires <= now) this.byId.delete(id);
  }
}

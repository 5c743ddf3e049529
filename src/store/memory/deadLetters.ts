/** The memory outbox's dead-letter set: events given up on, still sealed, each kept until its expiry. */
import type { DeadLetter } from '../types.js';

export class MemoryDeadLetters {
  private readonly byId = new Map<string, DeadLetter & { expires: number }>();

  constructor(private readonly now: () => number) {}

  /** Keeps the event's own fields only (the outbox's bookkeeping, a lease or a due time, stays behind). */
  put(e: DeadLetter, expires: number): void {
    this.prune();
    const { id, group, value, createdAt, attempts, diedAt } = e;
    this.byId.delete(id);
    this.byId.set(id, { id, group, value, createdAt, attempts, diedAt, expires });
  }

  /** Up to `max`, the earliest buried first. */
  list(max: number): DeadLetter[] {
    this.prune();
    return [...this.byId.values()]
      .sort((a, b) => a.diedAt - b.diedAt || (a.id < b.id ? -1 : 1))
      .slice(0, Math.max(0, Math.floor(max)))
      .map(({ expires: _expires, ...e }) => e);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, e] of this.byId) if (e.expires <= now) this.byId.delete(id);
  }
}

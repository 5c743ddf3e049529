/** The memory store's expiry index (ConnectionStore.dueConnections): a map of record key → due, walked whole (small, one process). */
import { type DueConnection, type DueQuery, compareDue } from '../types.js';

export class MemoryDueIndex {
  private readonly due = new Map<string, number>();

  /** A time indexes `key`, null takes it out, undefined leaves it (see ConnectionStore.putConnection). */
  set(key: string, due: number | null | undefined): void {
    if (due === null) this.due.delete(key);
    else if (due !== undefined) this.due.set(key, due);
  }

  delete(key: string): void {
    this.due.delete(key);
  }

  /** The page `q` asks for, of the live records among `records`; the entry of a record gone is dropped. */
  page(q: DueQuery, records: Map<string, { value: string; expires: number }>, now: number): DueConnection[] {
    const out: DueConnection[] = [];
    for (const [key, due] of this.due) {
      if (due >= q.before) continue;
      const e = records.get(key);
      if (!e || e.expires <= now) {
        this.due.delete(key);
        continue;
      }
      const cut = key.lastIndexOf(':');
      const d = { owner: key.slice(0, cut), provider: key.slice(cut + 1), due, value: e.value };
      if (!q.after || compareDue(d, q.after) > 0) out.push(d);
    }
    return out.sort(compareDue).slice(0, q.limit);
  }
}

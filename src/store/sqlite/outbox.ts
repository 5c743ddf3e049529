import { randomBytes } from 'node:crypto';
import { holderIsGone, holderSuffix } from '../holder.js';
import type { ClaimedEvent, DeadLetter, DeliveryAttempt, Outbox, OutboxEvent, ReplayQuery } from '../types.js';
import { type Db, guard } from './db.js';

interface OutboxRow {
  seq: number;
  id: string;
  grp: string;
  data: string;
  created: number;
  attempts: number;
  lease: string | null;
  lease_until: number;
}

interface DeadRow {
  id: string;
  grp: string;
  data: string;
  created: number;
  attempts: number;
  died: number;
}

const ROW = 'seq, id, grp, data, created, attempts, lease, lease_until';

/**
 * The outbox in the database file, shared by every process using it. Only the head (lowest seq)
 * of each group is claimable; a lease names its process (see holder.ts) so a crashed process's
 * claims need not wait for their lease to run out.
 */
export class SqliteOutbox implements Outbox {
  private readonly s;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.s = {
      // The first event of its group is its head (the group's queue was empty).
      insert: db.prepare(
        'INSERT INTO outbox (id, grp, data, created, first_created, head) VALUES (?, ?, ?, ?, ?, NOT EXISTS (SELECT 1 FROM outbox WHERE grp = ?))',
      ),
      // Heads only, through their partial index on (due, seq): due ones, the earliest first; a
      // claimed head is due again when its lease ends.
      dueHeads: db.prepare<[number, number], OutboxRow>(
        `SELECT ${ROW} FROM outbox WHERE head = 1 AND due <= ? ORDER BY due, seq LIMIT ?`,
      ),
      // Heads held by a lease that has not run out: their holder may be gone (holder.ts).
      heldHeads: db.prepare<[number, number], OutboxRow>(
        `SELECT ${ROW} FROM outbox WHERE head = 1 AND due > ? AND due <= ? AND lease IS NOT NULL ORDER BY due, seq LIMIT 100`,
      ),
      lease: db.prepare('UPDATE outbox SET lease = ?, lease_until = ?, due = ? WHERE seq = ?'),
      done: db.prepare('DELETE FROM outbox WHERE id = ? AND lease = ? RETURNING grp'),
      promote: db.prepare('UPDATE outbox SET head = 1 WHERE seq = (SELECT MIN(seq) FROM outbox WHERE grp = ?)'),
      retry: db.prepare(
        'UPDATE outbox SET attempts = attempts + 1, due = ?, lease = NULL, lease_until = 0 WHERE id = ? AND lease = ?',
      ),
      // Kept (a dead letter, or a delivered event), by when it was first created.
      keep: db.prepare(
        'INSERT OR REPLACE INTO outbox_dead (id, grp, data, created, attempts, died, expires, state) SELECT id, grp, data, COALESCE(first_created, created), attempts, ?, ?, ? FROM outbox WHERE id = ? AND lease = ?',
      ),
      dead: db.prepare<[number, number], DeadRow>(
        "SELECT id, grp, data, created, attempts, died FROM outbox_dead WHERE expires > ? AND state = 'dead' ORDER BY died, id LIMIT ?",
      ),
      replayable: db.prepare<[number, number, number, string | null, string | null, number], DeadRow>(
        'SELECT id, grp, data, created, attempts, died FROM outbox_dead WHERE created >= ? AND created <= ? AND expires > ? AND (? IS NULL OR id IN (SELECT value FROM json_each(?))) AND id NOT IN (SELECT id FROM outbox) ORDER BY created, id LIMIT ?',
      ),
      unkeep: db.prepare('DELETE FROM outbox_dead WHERE id = ?'),
      // A group's erasure: its pending events but those kept queued, and its kept ones (not yet expired: counted).
      forgetPending: db.prepare('DELETE FROM outbox WHERE grp = ? AND id NOT IN (SELECT value FROM json_each(?))'),
      forgetKept: db.prepare('DELETE FROM outbox_dead WHERE grp = ? RETURNING expires > ? AS live'),
      logAdd: db.prepare('INSERT OR REPLACE INTO webhook_log (k, status, data, expires) VALUES (?, ?, ?, ?)'),
      // Expired entries, through their index; then the oldest beyond the maximum by insertion order
      // (rowids grow with each insert, so this reads no more than it deletes; a gap left by a
      // replaced entry only keeps fewer).
      logExpire: db.prepare('DELETE FROM webhook_log WHERE expires <= ?'),
      logTrim: db.prepare('DELETE FROM webhook_log WHERE rowid <= (SELECT MAX(rowid) FROM webhook_log) - ?'),
      logRead: db.prepare<[string, number, number], { k: string; data: string }>(
        'SELECT k, data FROM webhook_log WHERE k < ? AND expires > ? ORDER BY k DESC LIMIT ?',
      ),
      stats: db.prepare<[], { n: number; oldest: number | null }>(
        'SELECT COUNT(*) AS n, MIN(created) AS oldest FROM outbox',
      ),
    };
  }

  /** Adds an event; the caller runs it inside the transaction of the write it reports (and guards it). */
  add(e: OutboxEvent): void {
    this.s.insert.run(e.id, e.group, e.value, e.createdAt, e.firstCreatedAt ?? null, e.group);
  }

  /** A head is free when its lease ran out, or when the process holding it no longer exists. */
  private free(row: OutboxRow, now: number): boolean {
    return row.lease_until <= now || (row.lease !== null && holderIsGone(row.lease));
  }

  /** Due heads not held by a live lease, and held heads whose holder is gone: up to `max`, the earliest first. */
  private claimable(now: number, max: number, leaseMs: number): OutboxRow[] {
    const due = this.s.dueHeads.all(now, max).filter((row) => this.free(row, now));
    if (due.length >= max) return due;
    const orphaned = this.s.heldHeads.all(now, now + leaseMs).filter((row) => this.free(row, now));
    return [...due, ...orphaned].slice(0, max);
  }

  async claim(max: number, leaseMs: number): Promise<ClaimedEvent[]> {
    const now = this.now();
    const limit = Math.max(0, Math.floor(max));
    if (limit === 0) return [];
    // IMMEDIATE: the write lock is taken before the read, so two processes never lease one head.
    const claim = this.db.transaction(() =>
      this.claimable(now, limit, leaseMs).map((row) => {
        const lease = randomBytes(12).toString('hex') + holderSuffix;
        this.s.lease.run(lease, now + leaseMs, now + leaseMs, row.seq);
        return { id: row.id, group: row.grp, value: row.data, createdAt: row.created, attempts: row.attempts, lease };
      }),
    );
    return guard(() => claim.immediate());
  }

  async done(id: string, lease: string, keepUntil?: number): Promise<void> {
    if (keepUntil === undefined) {
      guard(() => this.db.transaction(() => this.remove(id, lease)).immediate());
      return;
    }
    this.move(id, lease, keepUntil, 'delivered');
  }

  /** Removes the event if `lease` still holds it; the next event of its group becomes its head. */
  private remove(id: string, lease: string): void {
    const gone = this.s.done.get(id, lease) as { grp: string } | undefined;
    if (gone) this.s.promote.run(gone.grp);
  }

  /** Moves the event, if `lease` still holds it, to the kept events. */
  private move(id: string, lease: string, keepUntil: number, state: 'dead' | 'delivered'): void {
    const move = this.db.transaction(() => {
      if (this.s.keep.run(this.now(), keepUntil, state, id, lease).changes > 0) this.remove(id, lease);
    });
    guard(() => move.immediate());
  }

  async retry(id: string, lease: string, nextAttemptAt: number): Promise<void> {
    guard(() => this.s.retry.run(nextAttemptAt, id, lease));
  }

  async stats(): Promise<{ pending: number; oldestCreatedAt?: number }> {
    const row = guard(() => this.s.stats.get());
    return { pending: row?.n ?? 0, oldestCreatedAt: row?.oldest ?? undefined };
  }

  async bury(id: string, lease: string, keepUntil: number): Promise<void> {
    this.move(id, lease, keepUntil, 'dead');
  }

  async replay(q: ReplayQuery): Promise<string[]> {
    const ids = q.ids === undefined ? null : JSON.stringify(q.ids);
    const replay = this.db.transaction(() => {
      const now = this.now();
      const rows = this.s.replayable.all(q.since, q.until, now, ids, ids, Math.max(0, Math.floor(q.max)));
      for (const r of rows) {
        this.s.unkeep.run(r.id);
        this.s.insert.run(r.id, r.grp, r.data, now, r.created, r.grp);
      }
      return rows.map((r) => r.id);
    });
    return guard(() => replay.immediate());
  }

  /** One transaction: a removed head (even a claimed one) makes the group's next event its head, as done() does. */
  async forget(group: string, keep: readonly string[]): Promise<number> {
    const forget = this.db.transaction(() => {
      const pending = this.s.forgetPending.run(group, JSON.stringify(keep)).changes;
      const kept = (this.s.forgetKept.all(group, this.now()) as { live: number }[]).filter((r) => r.live).length;
      if (pending > 0) this.s.promote.run(group);
      return pending + kept;
    });
    return guard(() => forget.immediate());
  }

  async deadLetters(max: number): Promise<DeadLetter[]> {
    const rows = guard(() => this.s.dead.all(this.now(), Math.max(0, Math.floor(max))));
    return rows.map((r) => ({
      id: r.id,
      group: r.grp,
      value: r.data,
      createdAt: r.created,
      attempts: r.attempts,
      diedAt: r.died,
    }));
  }

  async logAttempt(a: DeliveryAttempt, keepUntil: number, maxEntries: number): Promise<void> {
    const add = this.db.transaction(() => {
      this.s.logAdd.run(a.key, a.status, JSON.stringify(a), keepUntil);
      this.s.logExpire.run(this.now());
      this.s.logTrim.run(maxEntries);
    });
    guard(() => add.immediate());
  }

  async readAttempts(q: {
    before?: string;
    status?: DeliveryAttempt['status'];
    limit: number;
    scan: number;
  }): Promise<{ items: DeliveryAttempt[]; last?: string }> {
    const rows = guard(() => this.s.logRead.all(q.before ?? '\uffff', this.now(), q.scan));
    const items = rows
      .map((r) => JSON.parse(r.data) as DeliveryAttempt)
      .filter((a) => q.status === undefined || a.status === q.status)
      .slice(0, q.limit);
    const last =
      items.length === q.limit
        ? items[items.length - 1]!.key
        : rows.length === q.scan
          ? rows[q.scan - 1]!.k
          : undefined;
    return { items, last };
  }
}

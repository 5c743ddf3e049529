import { randomBytes } from 'node:crypto';
import type { KeyClient } from './connect.js';
import { redisCall } from './deadline.js';
import { PARTITION_LIST, deliveryLogKey, leasePartition, outboxKeys } from './keys.js';
import { CLAIM, OUTBOX_DONE, OUTBOX_RETRY } from './scripts.js';
import { LOG_ADD, LOG_READ, OUTBOX_DEAD_LIST, OUTBOX_KEEP } from './webhookOpsScripts.js';
import { replayKept } from './replay.js';
import { forgetGroup } from './forget.js';
import type { ClaimedEvent, DeadLetter, DeliveryAttempt, Outbox, ReplayQuery } from '../types.js';

interface StoredEvent {
  seq: number;
  group: string;
  value: string;
  createdAt: number;
  attempts: number;
}

/** Redis orders members of equal score by their bytes; so do claims across partitions. */
const byDueThenGroup = (a: { score: number; group: string }, b: { score: number; group: string }) =>
  a.score - b.score || Buffer.compare(Buffer.from(a.group), Buffer.from(b.group));

/** The outbox in Redis, shared by every replica (keys: see keys.ts). */
export class RedisOutbox implements Outbox {
  constructor(
    private readonly client: KeyClient,
    private readonly prefix = 'xtc:',
    private readonly now: () => number = Date.now,
  ) {}

  private keys = (partition: number) => outboxKeys(this.prefix, partition);

  claim(max: number, leaseMs: number): Promise<ClaimedEvent[]> {
    return redisCall(async () => {
      const limit = Math.max(0, Math.floor(max));
      if (limit === 0) return [];
      const now = this.now();
      // Every partition's earliest due groups, then the earliest across them all.
      const due = await Promise.all(
        PARTITION_LIST.map((p) =>
          this.client.zRangeByScoreWithScores(this.keys(p).due, '-inf', now, { LIMIT: { offset: 0, count: limit } }),
        ),
      );
      const candidates = due
        .flatMap((groups, p) => groups.map((g) => ({ p, group: String(g.value), score: g.score })))
        .sort(byDueThenGroup);
      const out: (ClaimedEvent & { seq: number })[] = [];
      // The first `limit` candidates, one script per partition; those another replica took meanwhile
      // are skipped, and the next candidates are tried in their place.
      for (let next = 0; out.length < limit && next < candidates.length;) {
        const base = randomBytes(12).toString('hex'); // tokens: <base>.<partition>.<place in its list>
        const batch = candidates.slice(next, next + (limit - out.length));
        next += batch.length;
        const byPartition = new Map<number, string[]>();
        for (const c of batch) byPartition.set(c.p, [...(byPartition.get(c.p) ?? []), c.group]);
        const replies = await Promise.all(
          [...byPartition].map(async ([p, groups]) => {
            const k = this.keys(p);
            const args = [
              k.group(''),
              String(now),
              String(groups.length),
              String(Math.ceil(leaseMs)),
              `${base}.${p}`,
              ...groups,
            ];
            return (await this.client.eval(CLAIM, { keys: [k.due, k.ev, k.lease], arguments: args })) as string[];
          }),
        );
        for (const flat of replies) {
          for (let i = 0; i + 2 < flat.length; i += 3) {
            const e = JSON.parse(String(flat[i + 2])) as StoredEvent;
            out.push({
              id: String(flat[i]),
              group: e.group,
              value: e.value,
              createdAt: e.createdAt,
              attempts: e.attempts,
              lease: String(flat[i + 1]),
              seq: e.seq,
            });
          }
        }
      }
      // In the order they were added, as the other stores hand them out (seq counts per partition).
      return out.sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq).map(({ seq: _seq, ...e }) => e);
    });
  }

  done(id: string, lease: string, keepUntil?: number): Promise<void> {
    if (keepUntil !== undefined) return this.keep(id, lease, keepUntil, 'delivered');
    const p = leasePartition(lease);
    if (p === undefined) return Promise.resolve(); // not a lease of ours: it holds nothing
    return redisCall(async () => {
      const k = this.keys(p);
      await this.client.eval(OUTBOX_DONE, {
        keys: [k.ev, k.lease, k.created, k.due],
        arguments: [id, lease, String(this.now()), k.group('')],
      });
    });
  }

  retry(id: string, lease: string, nextAttemptAt: number): Promise<void> {
    const p = leasePartition(lease);
    if (p === undefined) return Promise.resolve();
    return redisCall(async () => {
      const k = this.keys(p);
      await this.client.eval(OUTBOX_RETRY, {
        keys: [k.ev, k.lease, k.due],
        arguments: [id, lease, String(nextAttemptAt)],
      });
    });
  }

  bury(id: string, lease: string, keepUntil: number): Promise<void> {
    return this.keep(id, lease, keepUntil, 'dead');
  }

  /** Moves the event, if `lease` still holds it, to its partition's kept events. */
  private keep(id: string, lease: string, keepUntil: number, state: 'dead' | 'delivered'): Promise<void> {
    const p = leasePartition(lease);
    if (p === undefined) return Promise.resolve();
    return redisCall(async () => {
      const k = this.keys(p);
      await this.client.eval(OUTBOX_KEEP, {
        keys: [k.ev, k.lease, k.created, k.due, k.dead, k.deadExp, k.deadAt],
        arguments: [id, lease, String(this.now()), k.group(''), String(Math.ceil(keepUntil)), state],
      });
    });
  }

  replay(q: ReplayQuery): Promise<string[]> {
    return redisCall(() => replayKept(this.client, this.keys, this.now(), q));
  }

  forget(group: string, keep: readonly string[]): Promise<number> {
    return redisCall(() => forgetGroup(this.client, this.prefix, this.now(), group, keep));
  }

  /** Each partition's first `max` (by expiry: with one retention, the order they died in), merged. */
  deadLetters(max: number): Promise<DeadLetter[]> {
    const limit = Math.max(0, Math.floor(max));
    if (limit === 0) return Promise.resolve([]);
    return redisCall(async () => {
      const now = this.now();
      const perPartition = await Promise.all(
        PARTITION_LIST.map(async (p) => {
          const k = this.keys(p);
          const flat = (await this.client.eval(OUTBOX_DEAD_LIST, {
            keys: [k.dead, k.deadExp],
            arguments: [String(now), String(limit)],
          })) as string[];
          const out: DeadLetter[] = [];
          for (let i = 0; i + 1 < flat.length; i += 2)
            out.push({ id: String(flat[i]), ...(JSON.parse(String(flat[i + 1])) as Omit<DeadLetter, 'id'>) });
          return out;
        }),
      );
      return perPartition
        .flat()
        .sort((a, b) => a.diedAt - b.diedAt || (a.id < b.id ? -1 : 1))
        .slice(0, limit);
    });
  }

  stats(): Promise<{ pending: number; oldestCreatedAt?: number }> {
    return redisCall(async () => {
      const [pending, oldest] = await Promise.all([
        Promise.all(PARTITION_LIST.map((p) => this.client.hLen(this.keys(p).ev))),
        Promise.all(PARTITION_LIST.map((p) => this.client.zRangeWithScores(this.keys(p).created, 0, 0))),
      ]);
      const scores = oldest.flatMap((o) => o.map((e) => e.score));
      return {
        pending: pending.reduce((sum, n) => sum + Number(n), 0),
        oldestCreatedAt: scores.length ? Math.min(...scores) : undefined,
      };
    });
  }

  /** Entries live in one sorted set; an entry's own time orders it, and the adds prune what expired. */
  logAttempt(a: DeliveryAttempt, keepUntil: number, maxEntries: number): Promise<void> {
    return redisCall(async () => {
      const cutoff = String(Math.max(0, this.now() - (keepUntil - a.at))).padStart(13, '0');
      await this.client.eval(LOG_ADD, {
        keys: [deliveryLogKey(this.prefix)],
        arguments: [`${a.key}\t${JSON.stringify({ ...a, expires: keepUntil })}`, cutoff, String(maxEntries)],
      });
    });
  }

  readAttempts(q: {
    before?: string;
    status?: DeliveryAttempt['status'];
    limit: number;
    scan: number;
  }): Promise<{ items: DeliveryAttempt[]; last?: string }> {
    return redisCall(async () => {
      const now = this.now();
      const raw = (await this.client.eval(LOG_READ, {
        keys: [deliveryLogKey(this.prefix)],
        arguments: [q.before === undefined ? '+' : `(${q.before}`, String(q.scan)],
      })) as string[];
      const read = raw.map(
        (m) => JSON.parse(String(m).slice(String(m).indexOf('\t') + 1)) as DeliveryAttempt & { expires: number },
      );
      const items = read
        .filter((a) => a.expires > now && (q.status === undefined || a.status === q.status))
        .slice(0, q.limit)
        .map(({ expires: _expires, ...a }) => a);
      const last =
        items.length === q.limit
          ? items[items.length - 1]!.key
          : read.length === q.scan
            ? read[q.scan - 1]!.key
            : undefined;
      return { items, last };
    });
  }
}

/**
 * A replay on Redis (Outbox.replay): kept events back to the outbox, across the 16 partitions.
 * First every partition names its candidates (REPLAY_PICK: the earliest `max` in the range, or the
 * given ids it keeps), the earliest `max` of them all are chosen, and then each partition puts its
 * chosen ones back in one script (REPLAY_PUT), which checks each again: a replay running at the
 * same time on another replica cannot put one event back twice.
 */
import type { KeyClient } from './connect.js';
import { PARTITION_LIST, type outboxKeys } from './keys.js';
import { REPLAY_PICK, REPLAY_PUT } from './webhookOpsScripts.js';
import type { ReplayQuery } from '../types.js';

type Keys = (partition: number) => ReturnType<typeof outboxKeys>;

interface Candidate {
  p: number;
  id: string;
  at: number;
}

const earliest = (a: Candidate, b: Candidate) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function pick(client: KeyClient, keys: Keys, now: number, q: ReplayQuery, max: number): Promise<Candidate[]> {
  const perPartition = await Promise.all(
    PARTITION_LIST.map(async (p) => {
      const k = keys(p);
      const flat = (await client.eval(REPLAY_PICK, {
        keys: [k.dead, k.deadExp, k.deadAt],
        arguments: [String(now), String(q.since), String(q.until), String(max), ...(q.ids ?? [])],
      })) as string[];
      const out: Candidate[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push({ p, id: String(flat[i]), at: Number(flat[i + 1]) });
      return out;
    }),
  );
  return perPartition.flat().sort(earliest).slice(0, max);
}

export async function replayKept(client: KeyClient, keys: Keys, now: number, q: ReplayQuery): Promise<string[]> {
  const max = Math.max(0, Math.floor(q.max));
  if (max === 0 || q.ids?.length === 0) return [];
  const chosen = await pick(client, keys, now, q, max);
  const byPartition = new Map<number, Candidate[]>();
  for (const c of chosen) byPartition.set(c.p, [...(byPartition.get(c.p) ?? []), c]);
  const put = new Set<string>();
  await Promise.all(
    [...byPartition].map(async ([p, cs]) => {
      const k = keys(p);
      const ids = (await client.eval(REPLAY_PUT, {
        keys: [k.seq, k.ev, k.created, k.due, k.dead, k.deadExp, k.deadAt],
        arguments: [String(now), k.group(''), ...cs.map((c) => c.id)],
      })) as string[];
      for (const id of ids) put.add(String(id));
    }),
  );
  return chosen.filter((c) => put.has(c.id)).map((c) => c.id);
}

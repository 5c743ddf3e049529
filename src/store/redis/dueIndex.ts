/**
 * The expiry index (ConnectionStore.dueConnections) on Redis: a sorted set per partition
 * (`connexp:{p<n>}`, keys.ts) of the records' members, scored by when each is due, written by the
 * same scripts as the records (scripts.ts). A page is one script on one partition: ZRANGEBYSCORE
 * below `before`, so a keeper's pass reads only the due entries; an entry whose record is gone
 * (expired) is removed as it is met.
 */
import type { KeyClient } from './connect.js';
import { PARTITIONS, connectionKeys, connectionMember } from './keys.js';
import { DUE_CONN } from './scripts.js';
import type { DueConnection, DueQuery } from '../types.js';

/** The setDue arguments of the connection scripts: a time scores the member, null removes it, undefined keeps it. */
export function dueArgs(due: number | null | undefined): [string, string] {
  if (due === undefined) return ['k', ''];
  return due === null ? ['r', ''] : ['s', String(Math.floor(due))];
}

export async function dueConnections(client: KeyClient, prefix: string, q: DueQuery): Promise<DueConnection[]> {
  const partition = q.partition ?? 0;
  if (q.limit <= 0 || partition < 0 || partition >= PARTITIONS) return [];
  const keys = connectionKeys(prefix, partition);
  const a = q.after;
  const flat = (await client.eval(DUE_CONN, {
    keys: [keys.due],
    arguments: [
      a ? String(a.due) : '-inf',
      String(q.before),
      String(q.limit),
      keys.record,
      a ? connectionMember(a.owner, a.provider) : '',
      a ? String(a.due) : '',
    ],
  })) as string[];
  const out: DueConnection[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const member = String(flat[i]);
    const cut = member.indexOf('\u0000');
    out.push({
      owner: member.slice(0, cut),
      provider: member.slice(cut + 1),
      due: Number(flat[i + 1]),
      value: String(flat[i + 2]),
    });
  }
  return out;
}

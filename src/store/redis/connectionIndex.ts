/**
 * Paging through the connection records of every partition (ConnectionStore.pageConnections).
 * Each partition keeps a page index beside its records (keys.ts), written by the same script as
 * each record (scripts.ts), so a live record is always in it; a member whose record has expired is
 * skipped and removed by the page script. A page asks every partition for up to `limit` records
 * after the start key and keeps the first `limit` of them all in key order: the order one index
 * over every record would give, so the walk is stable as records come and go.
 */
import type { KeyClient } from './connect.js';
import { PARTITION_LIST, connectionKeys, connectionMember } from './keys.js';
import { PAGE_CONN } from './scripts.js';
import { type ConnectionPage, type StoredConnection, compareConnectionKeys } from '../types.js';

/** The first string past every string that starts with `prefix`, or '+' (no bound) for no prefix. */
function lexEnd(prefix: string): string {
  if (!prefix) return '+';
  return `(${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
}

function lexStart(page: ConnectionPage): string {
  const { after, ownerPrefix } = page;
  return after && after.owner >= ownerPrefix ? `(${connectionMember(after.owner, after.provider)}` : `[${ownerPrefix}`;
}

async function pagePartition(
  client: KeyClient,
  prefix: string,
  partition: number,
  page: ConnectionPage,
): Promise<StoredConnection[]> {
  const keys = connectionKeys(prefix, partition);
  const flat = (await client.eval(PAGE_CONN, {
    keys: [keys.index],
    arguments: [lexStart(page), lexEnd(page.ownerPrefix), String(page.limit), keys.record],
  })) as string[];
  const out: StoredConnection[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const member = String(flat[i]);
    const cut = member.indexOf('\u0000');
    out.push({ owner: member.slice(0, cut), provider: member.slice(cut + 1), value: String(flat[i + 1]) });
  }
  return out;
}

/** One script per partition, sent together (on a cluster each to its partition's master), merged in key order. */
export async function pageConnections(
  client: KeyClient,
  prefix: string,
  page: ConnectionPage,
): Promise<StoredConnection[]> {
  if (page.limit <= 0) return [];
  const parts = await Promise.all(PARTITION_LIST.map((p) => pagePartition(client, prefix, p, page)));
  return parts.flat().sort(compareConnectionKeys).slice(0, page.limit);
}

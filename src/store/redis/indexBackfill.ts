/**
 * A one-time backfill of the connections' page index (connectionIndex.ts), run as the Redis stores
 * start. Records written before the index existed are in no partition's index, and an ended record
 * is never written again, so without this they would never be listed. Each master's record keys
 * (`conn:{p<n>}:<owner>:<provider>`) are SCANned (COUNT per call, never KEYS) and each is ZADDed to
 * its partition's index; then a marker key is set, so later starts skip the scan.
 *
 * Safe when several replicas start at once: ZADD of a member already there changes nothing. A record
 * deleted or expired between the SCAN and the ZADD leaves a member without its record, which the page
 * script skips and removes (connectionIndex.ts).
 */
import type { Logger } from 'pino';
import type { KeyClient, RedisConnection } from './connect.js';
import { PARTITIONS, connectionKeys, connectionMember, partitionOf } from './keys.js';

/** Set once the backfill has run to its end (no hash tag: a key of its own). */
export const backfillMarker = (prefix: string) => `${prefix}conns:backfilled`;

/** `text` as a SCAN pattern that matches only itself. */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/** A record key's partition and member, or undefined for a key that is not a partitioned record. */
function parseRecordKey(prefix: string, key: string): { partition: number; member: string } | undefined {
  const m = /^conn:\{p(\d+)\}:(.*):([^:]*)$/s.exec(key.slice(prefix.length));
  if (!key.startsWith(prefix) || !m) return undefined;
  const [partition, owner, provider] = [Number(m[1]), m[2]!, m[3]!];
  if (partition >= PARTITIONS || partitionOf(owner) !== partition) return undefined;
  return { partition, member: connectionMember(owner, provider) };
}

/** ZADDs one SCAN batch's records to their partitions' indexes (one ZADD per partition met). */
async function indexBatch(client: KeyClient, prefix: string, keys: string[]): Promise<number> {
  const byPartition = new Map<number, string[]>();
  for (const key of keys) {
    const r = parseRecordKey(prefix, key);
    if (r) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.member]);
  }
  let n = 0;
  for (const [partition, members] of byPartition) {
    await client.zAdd(
      connectionKeys(prefix, partition).index,
      members.map((value) => ({ score: 0, value })),
    );
    n += members.length;
  }
  return n;
}

/**
 * Indexes every stored record once, unless the marker says it was done; returns how many records the
 * scan met (undefined when skipped). A failure is logged and the next start tries again.
 */
export async function backfillConnectionIndex(
  client: KeyClient,
  conn: Pick<RedisConnection, 'scanKeys'>,
  prefix: string,
  logger: Logger,
): Promise<number | undefined> {
  try {
    if ((await client.exists(backfillMarker(prefix))) === 1) return undefined;
    let n = 0;
    await conn.scanKeys(`${globEscape(prefix)}conn:{p*}:*`, async (keys) => {
      n += await indexBatch(client, prefix, keys);
    });
    await client.set(backfillMarker(prefix), String(Date.now()));
    logger.info({ records: n }, 'redis: connection page index backfilled');
    return n;
  } catch (err) {
    logger.warn({ err }, 'redis: connection page index backfill failed; it is tried again at the next start');
    return undefined;
  }
}

/**
 * A one-time backfill of the expiry index (ConnectionStore.dueConnections) for records stored
 * before it existed: a SQLite row from before the `due` column, a Redis record from before the
 * `connexp:{p<n>}` sets. The store cannot index them itself (the expiry is inside the sealed
 * record), so the keeper does, once per deployment: it walks the subjects' records
 * (pageConnections), opens each, and writes it back unchanged with its place in the index
 * (a compare-and-set of the same value: a record changed meanwhile was indexed by its own write).
 * One replica at a time (a lock); a mark says it is done, so later starts skip it. A failure is
 * logged and the next pass tries again.
 */
import type { Logger } from 'pino';
import type { AuthStore, ConnectionKey } from '../../store/types.js';
import type { Records } from './record.js';

export const BACKFILL_MARK = 'keeper:expiry-index-backfilled';
const BACKFILL_LOCK = 'keeper:backfill';
const LOCK_MS = 60_000;
/** The mark is kept for ten years (a mark needs a TTL). */
const MARK_MS = 10 * 365 * 86_400_000;

export async function backfillExpiryIndex(opts: {
  store: AuthStore;
  records: Records;
  logger: Logger;
}): Promise<boolean> {
  const { store, records, logger } = opts;
  if (await store.hasMark(BACKFILL_MARK)) return true;
  const lock = await store.acquireLock(BACKFILL_LOCK, LOCK_MS);
  if (lock === null) return false; // another replica is at it
  try {
    let n = 0;
    let after: ConnectionKey | undefined;
    for (;;) {
      const page = await store.pageConnections({ ownerPrefix: 'sub.', after, limit: 200 });
      for (const c of page) {
        const rec = records.openListed(c.owner, c.provider, c.value);
        const due = rec && records.dueOf(c.owner, rec);
        if (!rec || due === null) continue;
        const ttl = records.ttlFor(c.owner, rec);
        if (await store.replaceConnection(c.owner, c.provider, c.value, ttl, c.value, undefined, due)) n++;
      }
      if (page.length < 200) break;
      after = page[page.length - 1];
      await store.extendLock(BACKFILL_LOCK, lock, LOCK_MS);
    }
    await store.markOnce(BACKFILL_MARK, MARK_MS);
    logger.info({ records: n }, 'keeper: expiry index backfilled');
    return true;
  } catch (err) {
    logger.warn(
      { code: (err as { code?: string })?.code },
      'keeper: expiry index backfill failed; tried again at the next pass',
    );
    return false;
  } finally {
    await store.releaseLock(BACKFILL_LOCK, lock).catch(() => undefined);
  }
}

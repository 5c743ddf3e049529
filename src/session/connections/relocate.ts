/**
 * Rewriting a stored connection without changing it, under its provider's refresh lock (so a
 * refresh in flight is stored first and never lost): moving it to another owner id (transfer: a
 * subject's records to the newest SUBJECT_KEYS key, a session's owner id rotated at login) and
 * sealing it again under the newest key (reseal: `xt-connect keys rotate`).
 */
import type { Sealer } from '../crypto.js';
import type { AuthStore } from '../../store/types.js';
import { type HeldLock, type RefreshLocks, refreshLockKey, sleep } from './lock.js';
import type { BackChannel } from './logoutIndex.js';
import type { Records } from './record.js';

export interface RelocateDeps {
  store: AuthStore;
  sealer: Sealer;
  locks: RefreshLocks;
  records: Records;
  backChannel: BackChannel;
  now: () => number;
}

/** What reseal() did: sealed again; already under the newest key (or written since); gone; kept (ended: it runs out); unreadable; busy (the lock stayed held). */
export type ResealOutcome = 'resealed' | 'current' | 'gone' | 'ended' | 'unreadable' | 'busy';

/** The record's refresh lock, waiting up to 5 s for a holder (a refresh) to finish; null if it did not. */
async function lockFor(d: RelocateDeps, owner: string, provider: string): Promise<HeldLock | null> {
  const giveUpAt = d.now() + 5000;
  let lock = await d.locks.tryAcquire(refreshLockKey(owner, provider), provider);
  while (lock === null && d.now() < giveUpAt) {
    await sleep(50);
    lock = await d.locks.tryAcquire(refreshLockKey(owner, provider), provider);
  }
  return lock;
}

/** Moves `from`'s connection to `provider` to `to`: the new record is written before the old one is deleted, so there is always one. */
export async function transfer(d: RelocateDeps, from: string, to: string, provider: string): Promise<void> {
  const lock = await lockFor(d, from, provider);
  try {
    const { rec } = await d.backChannel.read(from, provider);
    if (rec && rec.endReason !== 'unreadable') {
      if (rec.status === 'active') await d.backChannel.index(to, rec);
      const [sealed, ttl] = [d.records.seal(to, rec), d.records.ttlFor(to, rec)];
      await d.store.putConnection(to, provider, sealed, ttl, undefined, d.records.dueOf(to, rec)); // the keeper's index moves too
    }
    await d.store.deleteConnection(from, provider);
    if (rec) await d.backChannel.unindex(from, rec);
  } finally {
    await lock?.release();
  }
}

/**
 * Seals `owner`'s connection to `provider` again under the key that seals now, unchanged, if it
 * was sealed under another. A compare-and-set on the value read: a write since (a refresh, a new
 * login, a disconnect) wins, and was sealed under the newest key anyway. Its TTL and place in the
 * keeper's index stay as they are. An ended record (a tombstone) is left to run out.
 */
export async function reseal(d: RelocateDeps, owner: string, provider: string): Promise<ResealOutcome> {
  const lock = await lockFor(d, owner, provider);
  if (!lock) return 'busy';
  try {
    const blob = await d.store.getConnection(owner, provider);
    if (blob === null) return 'gone';
    if (!d.sealer.isStale(blob)) return 'current';
    const rec = d.records.openListed(owner, provider, blob);
    if (!rec) return 'unreadable';
    if (rec.status === 'ended') return 'ended';
    const ttl = d.records.ttlFor(owner, rec);
    const written = await d.store.replaceConnection(owner, provider, d.records.seal(owner, rec), ttl, blob);
    return written ? 'resealed' : 'current';
  } finally {
    await lock.release();
  }
}

/**
 * Rewriting a stored connection without changing it, under its provider's refresh lock (so a
 * refresh in flight is stored first and never lost): moving it to another owner id (transfer: a
 * subject's records to the newest SUBJECT_KEYS key, a session's owner id rotated at login) and
 * sealing it again under the newest key (reseal: `xt-connect keys rotate`). Neither writes
 * without the lock: a holder past the longest hold (a stuck refresh) makes them report `busy`.
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

/**
 * What transfer() did: moved (or finished a move that was cut short); nothing to move (none,
 * unreadable, or ended meanwhile); superseded (`to` holds another connection, a newer login:
 * nothing written); busy (the lock stayed held).
 */
export type TransferOutcome = 'moved' | 'gone' | 'superseded' | 'busy';

/** The record's refresh lock, waiting for a holder (a refresh) up to the longest it may hold it; null if it still does. */
export async function lockFor(d: RelocateDeps, owner: string, provider: string): Promise<HeldLock | null> {
  const giveUpAt = d.now() + d.locks.longestHoldMs;
  let lock = await d.locks.tryAcquire(refreshLockKey(owner, provider), provider);
  while (lock === null && d.now() < giveUpAt) {
    await sleep(50);
    lock = await d.locks.tryAcquire(refreshLockKey(owner, provider), provider);
  }
  return lock;
}

/**
 * Moves `from`'s connection to `provider` to `to`: the new record is written before the old one is
 * deleted, so there is always one. The old one is deleted only while it is still the value read
 * (compare-and-delete): if it ended meanwhile (a disconnect, an erasure), the copy is taken back.
 * A move cut short between the two writes (a crash) left the same connection under both: this
 * one finishes it, deleting the old copy.
 */
export async function transfer(d: RelocateDeps, from: string, to: string, provider: string): Promise<TransferOutcome> {
  const lock = await lockFor(d, from, provider);
  if (!lock) return 'busy';
  try {
    const { rec, blob } = await d.backChannel.read(from, provider);
    if (!rec) return 'gone';
    if (rec.endReason === 'unreadable') {
      await d.store.deleteConnection(from, provider, undefined, blob);
      return 'gone';
    }
    const there = await d.store.getConnection(to, provider);
    if (there !== null) {
      if (d.records.openListed(to, provider, there)?.connectionId !== rec.connectionId) return 'superseded';
      const finished = await d.store.deleteConnection(from, provider, undefined, blob);
      if (finished) await d.backChannel.unindex(from, rec);
      return finished ? 'moved' : 'gone';
    }
    if (rec.status === 'active') await d.backChannel.index(to, rec);
    const sealed = d.records.seal(to, rec);
    await d.store.putConnection(to, provider, sealed, d.records.ttlFor(to, rec), undefined, d.records.dueOf(to, rec)); // the keeper's index moves too
    const moved = await d.store.deleteConnection(from, provider, undefined, blob);
    if (!moved) await d.store.deleteConnection(to, provider, undefined, sealed);
    await d.backChannel.unindex(moved ? from : to, rec);
    return moved ? 'moved' : 'gone';
  } finally {
    await lock.release();
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
    if (written) return 'resealed';
    return (await d.store.getConnection(owner, provider)) === null ? 'gone' : 'current'; // ended, or written anew since
  } finally {
    await lock.release();
  }
}

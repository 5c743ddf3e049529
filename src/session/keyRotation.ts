/**
 * `xt-connect keys rotate`: every stored connection sealed again under the key that seals now
 * (the first TOKEN_ENCRYPTION_KEYS, else the key derived from the newest SUBJECT_KEYS), and, while
 * SUBJECT_KEYS lists several keys, every subject's connection moved to the newest key's owner id,
 * so the older keys can be dropped without anyone reading as disconnected.
 *
 * Safe while the servers run: each record is rewritten under its refresh lock with a
 * compare-and-set (Connections.reseal, Connections.transfer); one whose lock stays held past the
 * longest hold is left as it is and counted busy. And
 * resumable: a record already under the newest key costs one read of its page and is not
 * touched, so a run that was stopped, run again, only does what is left. Sixteen records are
 * rewritten at a time (each under its own lock).
 *
 * Not here: sessions (their bound user is sealed again as it is used, and a session ends by
 * SESSION_MAX_AGE), login transactions (minutes) and webhook events (sealed again when replayed;
 * kept ones end by their retention).
 */
import type { Sealer } from './crypto.js';
import type { Connections } from './connections/index.js';
import type { BindingEpochs } from './bindings.js';
import { isSubjectKey, type Subjects } from './subjects.js';
import type { AuthStore, ConnectionKey, StoredConnection } from '../store/types.js';

export interface KeyRotationDeps {
  store: Pick<AuthStore, 'pageConnections' | 'countConnections' | 'getConnection'>;
  connections: Pick<Connections, 'reseal' | 'peek' | 'transfer' | 'discard'>;
  subjects: Pick<Subjects, 'ownerOf' | 'ownersOf'>;
  bindings: Pick<BindingEpochs, 'carry'>;
  sealer: Pick<Sealer, 'isStale'>;
  providerIds: () => Iterable<string>;
}

/** What a run did, record by record (see ResealOutcome): `moved` to the newest SUBJECT_KEYS key. */
export interface RotationCounts {
  read: number;
  resealed: number;
  moved: number;
  current: number;
  ended: number;
  unreadable: number;
  busy: number;
  gone: number;
}

/** Records read per page. */
const PAGE = 200;

/** How many records are stored (tombstones included): the progress bar's end, an estimate. */
export async function storedRecords(d: KeyRotationDeps): Promise<number> {
  let total = 0;
  for (const id of d.providerIds()) total += await d.store.countConnections(id);
  return total;
}

/** The newest SUBJECT_KEYS key's owner id of the record's subject, when the record is under an older one. */
function newestOwner(d: KeyRotationDeps, owner: string, provider: string, blob: string): string | undefined {
  if (!isSubjectKey(owner) || d.subjects.ownersOf('').length < 2) return undefined;
  const subject = d.connections.peek(owner, provider, blob)?.subject;
  const newest = subject === undefined ? undefined : d.subjects.ownerOf(subject);
  return newest !== owner ? newest : undefined;
}

/**
 * Moves the record to the newest key, as a lookup would (its binding epoch carried along, the
 * record under its refresh lock), but without the lookups' once-an-hour marker, which keeps two
 * replicas on different steps of a rotation from moving a record back and forth: this runs once
 * every replica lists the newest key first. Another connection already there (a login since)
 * wins, and the old one ends, reported as a login replacing it reports it (no revocation: the
 * grant may be shared): no active record is left under an older key.
 */
async function move(d: KeyRotationDeps, rec: StoredConnection, to: string): Promise<Outcome> {
  await d.bindings.carry(rec.owner, to);
  const moved = await d.connections.transfer(rec.owner, to, rec.provider);
  if (moved !== 'superseded') return moved;
  await d.connections.discard(rec.owner, rec.provider);
  return 'ended';
}

type Outcome = Exclude<keyof RotationCounts, 'read'>;

/** Records rewritten at once: each under its own lock, so they do not wait for each other. */
const CONCURRENCY = 16;

/** What became of one record: moved (sealed anew on the way), already current, or what reseal() did. */
async function rotateOne(d: KeyRotationDeps, rec: StoredConnection): Promise<Outcome> {
  const to = newestOwner(d, rec.owner, rec.provider, rec.value);
  if (to !== undefined) return move(d, rec, to);
  return d.sealer.isStale(rec.value) ? d.connections.reseal(rec.owner, rec.provider) : 'current';
}

/** Walks every stored connection once, in the store's key order, CONCURRENCY at a time; `progress` after each. */
export async function rotateKeys(
  d: KeyRotationDeps,
  progress: (counts: Readonly<RotationCounts>) => void = () => undefined,
): Promise<RotationCounts> {
  const counts: RotationCounts = {
    read: 0,
    resealed: 0,
    moved: 0,
    current: 0,
    ended: 0,
    unreadable: 0,
    busy: 0,
    gone: 0,
  };
  let after: ConnectionKey | undefined;
  for (;;) {
    const page = await d.store.pageConnections({ ownerPrefix: '', after, limit: PAGE });
    let next = 0;
    const worker = async () => {
      while (next < page.length) {
        const outcome = await rotateOne(d, page[next++]!);
        counts[outcome] += 1;
        counts.read += 1;
        progress(counts);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, page.length) }, worker));
    if (page.length < PAGE) return counts;
    after = page[page.length - 1]!;
  }
}

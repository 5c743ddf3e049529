/**
 * SUBJECT_KEYS rotates: a subject's records live under the owner key of the newest key, and those
 * stored under an older key are moved there the first time the subject is looked up (a service API
 * call, a link, a bound browser's request), as the Redis store moved its old key layout on first
 * read. Each connection moves under its provider's refresh lock (Connections.transfer), so a
 * refresh in flight is stored before the move and never lost, with its logout-index entries; the
 * subject's binding epoch is carried along, so an end (DELETE /v1/subjects/{sub}) still counts.
 *
 * Nothing to do, and no store read, while SUBJECT_KEYS holds one key. During a rotation a lookup
 * costs one read per older key and provider until the old key is dropped.
 */
import type { Logger } from 'pino';
import type { AuthStore } from '../store/types.js';
import type { BindingEpochs } from './bindings.js';
import type { Connections } from './connections/index.js';
import { refreshLockKey } from './connections/lock.js';
import type { Subjects } from './subjects.js';

export interface SubjectMovesOptions {
  subjects: Subjects;
  connections: Pick<Connections, 'transfer'>;
  bindings: Pick<BindingEpochs, 'carry'>;
  store: Pick<AuthStore, 'getConnection' | 'markOnce' | 'acquireLock' | 'releaseLock'>;
  providers: () => Iterable<string>;
  logger: Logger;
}

export class SubjectMoves {
  constructor(private readonly o: SubjectMovesOptions) {}

  /** True while SUBJECT_KEYS lists more than one key. */
  get rotating(): boolean {
    return this.o.subjects.ownersOf('').length > 1;
  }

  /**
   * The owner key of the subject's records, once whatever was stored under an older key has moved
   * to the newest: the newest key's, unless another replica keeps them under another (see relocate()).
   */
  async resolve(subject: string): Promise<string> {
    const keys = this.o.subjects.ownersOf(subject);
    const [newest, ...older] = keys;
    if (older.length === 0) return newest!;
    for (const old of older) await this.move(old, newest!);
    for (const key of keys) if ((await this.holdsAny(key)) && (await this.quiet(key))) return key;
    return newest!;
  }

  /**
   * Where the subject's records are, moving nothing (an operator's read): the first key, newest
   * first, that holds a record, else the newest.
   */
  async locate(subject: string): Promise<string> {
    const keys = this.o.subjects.ownersOf(subject);
    for (const key of keys) if (await this.holdsAny(key)) return key;
    return keys[0]!;
  }

  /**
   * No move of `owner`'s records is in flight (Connections.transfer holds their refresh lock), so
   * they are still there when the caller reads them; false when one was, and they have gone since.
   * Another replica moves a record the caller had just found: without this, its read would miss it.
   */
  private async quiet(owner: string): Promise<boolean> {
    for (const provider of this.o.providers()) {
      const lockKey = refreshLockKey(owner, provider);
      for (let i = 0; i < SETTLE_POLLS; i++) {
        const token = await this.o.store.acquireLock(lockKey, 1000);
        if (token !== null) {
          await this.o.store.releaseLock(lockKey, token);
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    return this.holdsAny(owner);
  }

  private async holdsAny(owner: string): Promise<boolean> {
    for (const provider of this.o.providers())
      if ((await this.o.store.getConnection(owner, provider)) !== null) return true;
    return false;
  }

  private async move(from: string, to: string): Promise<void> {
    await this.o.bindings.carry(from, to);
    for (const provider of this.o.providers()) {
      if ((await this.o.store.getConnection(from, provider)) === null) continue;
      await this.relocate(from, to, provider);
    }
  }

  /**
   * Moves one connection, once per pair of keys and MOVE_WINDOW_MS: while a rotation rolls out, a
   * replica already on the new order and one still on the previous step would move a record
   * opposite ways, back and forth. The first move wins; the replica a step behind then finds the
   * record under its other key (resolve()) until it restarts on the new order. Inside,
   * Connections.transfer takes the record's refresh lock and writes the new record before it
   * deletes the old, so there is always one. A record under the newest key already (a login since
   * the rotation) wins, and the old one runs out.
   */
  private async relocate(from: string, to: string, provider: string): Promise<void> {
    const there = await this.o.store.getConnection(to, provider);
    if (there !== null) {
      // The same connection under both keys (a move cut short): transfer() finishes it. Another: the old one runs out.
      await this.o.connections.transfer(from, to, provider);
      return;
    }
    const marker = `subject-move:${provider}:${[from, to].sort().join(':')}`;
    if (!(await this.o.store.markOnce(marker, MOVE_WINDOW_MS))) return this.settled(from, provider);
    if ((await this.o.connections.transfer(from, to, provider)) === 'moved')
      this.o.logger.info({ provider }, "a subject's connection moved to the newest SUBJECT_KEYS key");
  }

  /**
   * Another lookup (here or on another replica) took this move: wait a moment for it to land, so
   * this one reads the record where it ends up rather than where it is being deleted. A record
   * that stays (moved before and back since, by a replica a step behind) is read where it is.
   */
  private async settled(from: string, provider: string): Promise<void> {
    for (let i = 0; i < SETTLE_POLLS; i++) {
      if ((await this.o.store.getConnection(from, provider)) === null) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** How long a lookup waits for a move another one took: up to 40 × 25 ms. */
const SETTLE_POLLS = 40;

/** Longer than any rolling restart: one move per subject, provider and pair of keys in that time. */
const MOVE_WINDOW_MS = 3_600_000;

/**
 * Browser bindings to a subject (a link binds a browser session to the institution's user, see
 * auth/link.ts) can be ended all at once: DELETE /v1/subjects/{sub} starts a new epoch for the
 * subject, and a session bound under an older epoch no longer counts as bound (it is unbound
 * where it is next seen, see auth/binding.ts).
 *
 * The epochs live in the shared store (so every replica sees them, and a restart keeps them),
 * under the subject's opaque key (session/subjects.ts), never its raw id: a small set of
 * `<ms>.<random>` members (the store's index sets), the latest of which is the current epoch.
 * No member: the subject was never ended, and its epoch is ''.
 */
import { randomBytes } from 'node:crypto';
import type { AuthStore } from '../store/types.js';

/** Epochs kept per subject: the latest wins, and a few older ones do no harm. */
const KEEP = 4;

const epochKey = (subjectKey: string) => `subject-epoch:${subjectKey}`;
const timeOf = (epoch: string) => Number.parseInt(epoch, 36) || 0;

/** The latest of `epochs` (by the time it starts with, then by its text): '' for none. */
function latest(epochs: string[]): string {
  let best = '';
  for (const e of epochs) if (timeOf(e) > timeOf(best) || (timeOf(e) === timeOf(best) && e > best)) best = e;
  return best;
}

export class BindingEpochs {
  /**
   * @param ttlMs how long an epoch is kept after the last binding made under it: at least
   *   SESSION_MAX_AGE, which no bound session outlives.
   */
  constructor(
    private readonly store: Pick<AuthStore, 'addToIndex' | 'readIndex'>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The subject's current epoch ('' until it is first ended). One store read. */
  async current(subjectKey: string): Promise<string> {
    return latest(await this.store.readIndex(epochKey(subjectKey)));
  }

  /** When the subject was last ended (ms; 0 when never): links minted before then are refused (auth/link.ts). */
  async endedAt(subjectKey: string): Promise<number> {
    return timeOf(await this.current(subjectKey));
  }

  /** Starts a new epoch for the subject: every binding made before now is over. */
  async end(subjectKey: string): Promise<void> {
    // Later than any epoch seen, whatever the clocks of the replicas that wrote them.
    const at = Math.max(this.now(), timeOf(await this.current(subjectKey)) + 1);
    const epoch = `${at.toString(36)}.${randomBytes(9).toString('base64url')}`;
    await this.store.addToIndex(epochKey(subjectKey), epoch, this.ttlMs, KEEP);
  }

  /**
   * Carries the subject's current epoch from an older owner key to the newest (SUBJECT_KEYS
   * rotates, session/subjectMoves.ts): the latest of a key's epochs wins, so adding it is enough.
   */
  async carry(fromKey: string, toKey: string): Promise<void> {
    const epoch = await this.current(fromKey);
    if (epoch !== '') await this.store.addToIndex(epochKey(toKey), epoch, this.ttlMs, KEEP);
  }

  /**
   * The epoch a binding made now belongs to; kept (again) for as long as that binding can live,
   * so that the binding never outlives the epoch it is checked against.
   */
  async forNewBinding(subjectKey: string): Promise<string> {
    const epoch = await this.current(subjectKey);
    if (epoch !== '') await this.store.addToIndex(epochKey(subjectKey), epoch, this.ttlMs, KEEP);
    return epoch;
  }
}

/**
 * A subject's erasure (`xt-connect subject erase`, for GDPR art. 17 and PIPL art. 47 requests):
 * everything this service holds about the subject goes, but the news that its connections ended.
 *
 *  1. Its browser bindings end, under every SUBJECT_KEYS key (as an end does: endSubject()).
 *  2. Each of its connections ends as the service API's DELETE ends one (endEverywhere()):
 *     revoked at the provider, its record and its logout-index entries deleted, a
 *     `connection.ended` event queued (revoked_by_service) and a `disconnected` audit line.
 *  3. The webhook outbox forgets the subject's other events: those still queued before the
 *     `connection.ended` just queued, the delivered ones kept for a replay and the dead letters.
 *  4. A `subject_erased` audit line, which like every audit line carries only a hash of the
 *     subject's key (the log archive holds nothing more about it).
 *
 * Not reachable from the subject, so left to run out: a login in flight (its transaction is kept
 * under the browser session's own id for at most 10 minutes, and its callback is refused, since
 * the binding epoch moved on) and the browser sessions bound to the subject (each holds the
 * subject sealed; it is unbound at its next request, and deleted by the idle timeout at the latest).
 *
 * What stays, by design: the binding epoch (a time under an HMAC of the subject, which keeps the
 * browsers bound before now from connecting it again), the `connection.ended` events (kept after
 * delivery for replays, sealed, until WEBHOOK_LOG_TTL runs out), and the audit lines already written.
 */
import type { Audit } from '../shared/audit.js';
import type { Outbox } from '../store/outboxTypes.js';
import type { BindingEpochs } from './bindings.js';
import type { Connections } from './connections/index.js';
import { endEverywhere } from './subjectAccount.js';
import type { Subjects } from './subjects.js';

export interface EraseDeps {
  connections: Pick<Connections, 'disconnect'>;
  subjects: Pick<Subjects, 'ownersOf'>;
  bindings: Pick<BindingEpochs, 'end'>;
  outbox: Pick<Outbox, 'forget'>;
  audit: Audit;
  providerIds: () => Iterable<string>;
}

export interface Erasure {
  /** The providers whose connection was held, and ended. */
  ended: string[];
  /** The `connection.ended` events left queued: the last word on the subject. */
  finalEvents: number;
  /** Other webhook events removed: queued, kept for a replay, or dead letters. */
  eventsRemoved: number;
}

/**
 * Erases the subject (see above). A second run ends nothing more, and removes whatever events of the
 * subject are left: the kept copy of its connection.ended, or that event itself if not yet delivered.
 * Events are found under the SUBJECT_KEYS keys listed now (an event's group is the key it was queued under).
 */
export async function eraseSubject(d: EraseDeps, subject: string): Promise<Erasure> {
  const keys = d.subjects.ownersOf(subject);
  for (const key of keys) await d.bindings.end(key);
  const erasure: Erasure = { ended: [], finalEvents: 0, eventsRemoved: 0 };
  const keep = new Map<string, string[]>(keys.map((k) => [k, []]));
  for (const id of d.providerIds()) {
    const ended = await endEverywhere(d, subject, id);
    if (ended.length > 0) erasure.ended.push(id);
    for (const e of ended) if (e.eventId) keep.get(e.owner)?.push(e.eventId);
  }
  for (const [key, ids] of keep) {
    erasure.finalEvents += ids.length;
    erasure.eventsRemoved += await d.outbox.forget(key, ids);
  }
  d.audit.write('subject_erased', { owner: keys[0], count: erasure.eventsRemoved });
  return erasure;
}

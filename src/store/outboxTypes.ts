/** The webhook outbox's role (Outbox) and what it holds: pending events, dead letters, the delivery log. */
/**
 * A webhook event waiting in the outbox. `value` is sealed (it holds the subject); the store only
 * keeps it and its bookkeeping. Events of one `group` (a subject, or a session's owner) are
 * handed out strictly in the order they were added, one at a time: the next one of a group is
 * not claimable until the one before it is done.
 */
export interface OutboxEvent {
  /** Unique id, also the webhook-id: `msg_` + random. */
  id: string;
  /** Ordering key: events of one group are delivered in the order they were added. */
  group: string;
  value: string;
  /** When it was created (for a replayed event: when it was replayed), ms since the epoch; WEBHOOK_MAX_AGE counts from it. */
  createdAt: number;
  /** A replayed event only: when it was first created (what a replay's time range matches). */
  firstCreatedAt?: number;
}

export interface ClaimedEvent extends OutboxEvent {
  /** Failed attempts before this one. */
  attempts: number;
  /** The claim's token: only its holder can finish or reschedule the event. */
  lease: string;
}

/** An event the outbox gave up on (past WEBHOOK_MAX_AGE): kept, still sealed, for a replay. */
export interface DeadLetter extends Omit<OutboxEvent, 'firstCreatedAt'> {
  /** Failed attempts. */
  attempts: number;
  /** When it was moved to the dead-letter set, ms since the epoch. */
  diedAt: number;
}

/** One delivery attempt, as the delivery log keeps it: never a payload, a subject or a secret. */
export interface DeliveryAttempt {
  /** Unique, and sorts by time: `<at, 13 digits>-<random>`. The log's order and its cursor. */
  key: string;
  /** The event's webhook-id. */
  eventId: string;
  type: string;
  /** delivered (2xx), failed (retried), gone (410), dead (past WEBHOOK_MAX_AGE: no request). */
  status: 'delivered' | 'failed' | 'gone' | 'dead';
  /** The HTTP status, or null when there was no answer (or no request). */
  statusCode: number | null;
  durationMs: number;
  /** 1 for the first attempt of the event. */
  attempt: number;
  /** Why there was no 2xx: `http_<status>`, `timeout`, `ECONNREFUSED`…, `max_age`; null when delivered. */
  errorClass: string | null;
  /** When the attempt ended, ms since the epoch. */
  at: number;
}

/** The delivery log: attempts kept until an expiry, at most a bounded number, newest first. */
export interface DeliveryLog {
  /** Adds an attempt, kept until `keepUntil`; the oldest beyond `maxEntries` are removed. */
  logAttempt(a: DeliveryAttempt, keepUntil: number, maxEntries: number): Promise<void>;
  /**
   * Newest first, older than `before` (a key) when given; reads at most `scan` entries and returns
   * those of `status` (every one without), at most `limit`. `last`: the key of the last entry read
   * (the next page starts after it), undefined when the log has no more.
   */
  readAttempts(q: {
    before?: string;
    status?: DeliveryAttempt['status'];
    limit: number;
    scan: number;
  }): Promise<{ items: DeliveryAttempt[]; last?: string }>;
}

export interface Outbox extends DeliveryLog {
  /**
   * Claims up to `max` events for `leaseMs`: only the first pending event of each group, only if
   * it is due (its next attempt time has come) and not held by a live lease. A lease that ran
   * out (or, with SQLite, whose holding process is gone) can be claimed again.
   */
  claim(max: number, leaseMs: number): Promise<ClaimedEvent[]>;
  /**
   * Delivered (or given up): removes the event, if `lease` still holds it; the group's next event
   * becomes due. With `keepUntil` (ms since the epoch), a delivered event is kept, still sealed,
   * until then, for a replay.
   */
  done(id: string, lease: string, keepUntil?: number): Promise<void>;
  /** A failed attempt: attempts + 1, due again at `nextAttemptAt`, lease released (if `lease` still holds it). */
  retry(id: string, lease: string, nextAttemptAt: number): Promise<void>;
  /** How many events are pending, and when the oldest was created. */
  stats(): Promise<{ pending: number; oldestCreatedAt?: number }>;
  /**
   * Given up (past WEBHOOK_MAX_AGE): moves the event, if `lease` still holds it, still sealed, to the
   * dead-letter set, kept until `keepUntil` (ms since the epoch); the group's next event becomes due.
   */
  bury(id: string, lease: string, keepUntil: number): Promise<void>;
  /** Up to `max` dead letters not yet expired, the earliest buried first. */
  deadLetters(max: number): Promise<DeadLetter[]>;
  /** Puts kept events (dead letters and delivered ones) back in the queue: see ReplayQuery. */
  replay(q: ReplayQuery): Promise<string[]>;
  /**
   * Forgets a group (a subject's erasure): removes its pending events except those whose id is in
   * `keep` (they stay queued, in order, and the first of them becomes due as the group's head), its
   * kept delivered events and its dead letters. An event claimed right now is removed too (its
   * holder's done/retry/bury then does nothing). Other groups are untouched. Returns how many
   * events were removed (pending + kept + dead).
   */
  forget(group: string, keep: readonly string[]): Promise<number>;
}

/**
 * A replay: up to `max` kept events, not expired, first created from `since` to `until` (ms since
 * the epoch, both included) and, with `ids`, only those, go back to the outbox, the earliest first.
 * Each keeps its id (the webhook-id), group and sealed value, starts again at attempt 1, and its
 * age counts from now (`createdAt`; `firstCreatedAt` keeps the original); it goes to the end of its
 * group's queue and leaves the kept set (a delivery keeps it again). One whose id is pending is
 * skipped. Returns the ids put back.
 */
export interface ReplayQuery {
  since: number;
  until: number;
  ids?: readonly string[];
  max: number;
}

/**
 * The webhook worker: takes the events the outbox holds (written with the connection changes they
 * report, see AuthStore's `event` parameters) and delivers them at least once.
 *
 *  - A round claims up to BATCH due events under a short lease (the store hands out only the
 *    first pending event of each group, so per-subject order holds and the batch can be sent
 *    concurrently), delivers them, and reports each back: `done` when delivered (or given up),
 *    `retry` with exponential backoff otherwise. Another round follows at once while there is
 *    work; when nothing is due the worker sleeps until kicked (a new event in this process) or
 *    for the poll interval (events of other replicas, retries coming due).
 *  - An event whose lease ran out (a replica crashed, or SQLite saw that its holder is gone) is
 *    claimed again by anyone: delivery is at-least-once; receivers dedupe on `webhook-id`.
 *  - An event past WEBHOOK_MAX_AGE moves, still sealed, to the store's dead letters (kept for
 *    WEBHOOK_LOG_TTL) and is counted (xtc_webhook_dead_letters_total); a delivered one is kept as
 *    long, so POST /v1/webhooks/replay can put either back.
 *  - A 410 from the endpoint disables delivery for WEBHOOK_MAX_AGE, with a mark in the shared
 *    store so other replicas and restarts stop too; the events stay in the outbox (disabled.ts).
 *  - A store that cannot answer (Redis away) is logged, at most every STORE_LOG_EVERY_MS, and tried
 *    again next round. Nothing here throws out of the loop: the process never crashes for it.
 */
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { Metrics } from '../shared/metrics.js';
import type { WebhookConfig } from '../config/integration.js';
import { type ConnectionEventBody, openEvent } from '../session/connections/events.js';
import type { Sealer } from '../session/crypto.js';
import type { AuthStore, ClaimedEvent, DeliveryAttempt, Outbox } from '../store/types.js';
import { DELIVERY_LOG_MAX, attemptEntry } from './attemptLog.js';
import { DisabledState } from './disabled.js';
import { type SendOutcome, WebhookSender } from './send.js';

export { disabledMark } from './disabled.js';

/** Events claimed per round. */
export const BATCH = 10;
/** The longest time between two retries of one event. */
export const MAX_RETRY_MS = 3_600_000;
/** A store that keeps failing is logged at most this often. */
const STORE_LOG_EVERY_MS = 10_000;

/** The worker's clocks and limits; only tests change them. */
export interface WebhookTiming {
  /** The first retry's delay; each further one doubles (±20 %), up to MAX_RETRY_MS. */
  firstRetryMs: number;
  /** How long an idle worker sleeps before looking at the outbox again (other replicas' events, retries coming due). */
  pollMs: number;
  /** How long a claim holds an event (the issue allows at most 30 s). */
  leaseMs: number;
  /** One attempt's timeout. */
  timeoutMs: number;
  /** The clock (ms since the epoch): ages, retry times and the signed timestamp. */
  now: () => number;
}

export const DEFAULT_TIMING: WebhookTiming = {
  firstRetryMs: 5000,
  pollMs: 1000,
  leaseMs: 15_000,
  timeoutMs: 5000,
  now: Date.now,
};

export interface WebhookWorkerOptions {
  config: WebhookConfig;
  outbox: Outbox;
  /** For the shared "disabled" mark. */
  authState: Pick<AuthStore, 'markOnce' | 'hasMark'>;
  sealer: Sealer;
  logger: Logger;
  timing?: Partial<WebhookTiming>;
  /** xtc_webhook_deliveries_total, xtc_webhook_dead_letters_total. */
  metrics?: Metrics;
}

/** What /readyz shows. */
export interface WebhookStats {
  pending: number;
  /** True while delivery is off after the endpoint answered 410 (until WEBHOOK_MAX_AGE passes or WEBHOOK_URL changes). */
  disabled: boolean;
  /** The oldest pending event's age; 0 when none is pending. */
  oldestAgeSeconds: number;
}

/** The delay before retry number `attempts + 1`: first·2^attempts with ±20 % jitter, never more than MAX_RETRY_MS. */
export function retryDelayMs(attempts: number, firstRetryMs: number, random: () => number = Math.random): number {
  const base = firstRetryMs * 2 ** Math.min(attempts, 40);
  return Math.min(MAX_RETRY_MS, Math.round(base * (0.8 + 0.4 * random())));
}

export class WebhookWorker {
  private readonly timing: WebhookTiming;
  private readonly sender: WebhookSender;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private kicked = false;
  private stopRequested = false;
  private wake?: () => void;
  private readonly disabled: DisabledState;
  private lastStoreLog = -Infinity;

  constructor(private readonly opts: WebhookWorkerOptions) {
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.sender = new WebhookSender(opts.config.secrets);
    this.disabled = new DisabledState({
      config: opts.config,
      authState: opts.authState,
      logger: opts.logger,
      now: () => this.timing.now(),
    });
  }

  /** Starts the loop (once: a second call, or one after stop(), does nothing). */
  start(): void {
    if (this.loop || this.stopRequested) return;
    this.loop = this.run();
  }

  /** A new event was stored: deliver without waiting for the poll interval. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /**
   * Stops the loop: the round in flight gets `graceMs` to finish, then its requests are aborted
   * (their events are released for a retry, or their leases run out). Events never get lost.
   */
  async stop(graceMs = this.timing.timeoutMs + 1000): Promise<void> {
    this.stopRequested = true;
    this.wake?.();
    if (this.loop && !(await settlesWithin(this.loop, graceMs))) {
      this.stopping.abort();
      await settlesWithin(this.loop, 1000);
    }
    this.stopping.abort();
    this.sender.close();
  }

  /** How many events wait, and the oldest one's age. Throws when the store cannot answer. */
  async stats(): Promise<WebhookStats> {
    const s = await this.opts.outbox.stats();
    const age =
      s.oldestCreatedAt === undefined ? 0 : Math.max(0, Math.floor((this.timing.now() - s.oldestCreatedAt) / 1000));
    return { pending: s.pending, oldestAgeSeconds: s.pending > 0 ? age : 0, disabled: this.disabled.current };
  }

  // ---------- the loop ----------

  private async run(): Promise<void> {
    while (!this.stopRequested) {
      this.kicked = false;
      let busy = false;
      let failed = false;
      try {
        busy = await this.round();
      } catch (err) {
        failed = true;
        this.storeTrouble(err);
      }
      if (this.stopRequested) break;
      // After a store failure, wait even when kicked: a store that is away is not asked in a tight loop.
      if (failed || (!busy && !this.kicked)) await this.sleep(this.timing.pollMs);
    }
  }

  /** Waits `ms`, or until kicked (or stopped). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref(); // an idle worker alone does not keep the process alive
      this.wake = done;
    });
  }

  /** One round: claims what is due and delivers it. True when something was claimed (look again at once). */
  private async round(): Promise<boolean> {
    if (await this.disabled.check()) return false;
    const events = await this.opts.outbox.claim(BATCH, this.timing.leaseMs);
    if (events.length === 0) return false;
    await Promise.all(events.map((e) => this.deliver(e)));
    return true;
  }

  /** Delivers one claimed event and reports the outcome to the outbox. Never throws. */
  private async deliver(e: ClaimedEvent): Promise<void> {
    try {
      const body = openEvent(this.opts.sealer, e);
      if (body === undefined) {
        this.opts.logger.warn(
          { eventId: e.id },
          'a webhook event could not be opened (a removed key, or tampering); it cannot be sent and is dropped',
        );
        await this.opts.outbox.done(e.id, e.lease);
        return;
      }
      const now = this.timing.now();
      if (now - e.createdAt > this.opts.config.maxAgeMs) {
        await this.deadLetter(e, body, now);
        return;
      }
      const outcome = await this.sender.send(e.id, body, new Date(now), {
        url: this.opts.config.url,
        timeoutMs: this.timing.timeoutMs,
        signal: this.stopping.signal,
        attempt: e.attempts + 1,
      });
      await this.settle(e, outcome);
      await this.logAttempt(attemptEntry(e, eventType(body), outcome, now, this.timing.now()));
    } catch (err) {
      // The store failed to take the outcome: the lease runs out and the event is sent again.
      this.storeTrouble(err);
    }
  }

  /**
   * Past WEBHOOK_MAX_AGE: given up and moved, still sealed, to the dead letters (kept for
   * WEBHOOK_LOG_TTL, for a replay), with an error line (the id, type and age; never the subject).
   */
  private async deadLetter(e: ClaimedEvent, body: string, now: number): Promise<void> {
    await this.opts.outbox.bury(e.id, e.lease, now + this.opts.config.logTtlMs);
    this.opts.metrics?.webhookDeadLetters.inc();
    await this.logAttempt(attemptEntry(e, eventType(body), 'dead', now, now));
    this.opts.logger.error(
      {
        eventId: e.id,
        type: eventType(body),
        ageSeconds: Math.floor((now - e.createdAt) / 1000),
        attempts: e.attempts,
      },
      'a webhook event was not delivered within WEBHOOK_MAX_AGE; it moved to the dead letters',
    );
  }

  /** Adds an entry to the delivery log; a failure to is only logged (the delivery itself is settled). */
  private async logAttempt(entry: DeliveryAttempt): Promise<void> {
    const { logTtlMs } = this.opts.config;
    await this.opts.outbox.logAttempt(entry, entry.at + logTtlMs, DELIVERY_LOG_MAX).catch((err: unknown) => {
      this.storeTrouble(err);
    });
  }

  /** Records an attempt's outcome in the outbox. */
  private async settle(e: ClaimedEvent, outcome: SendOutcome): Promise<void> {
    this.opts.metrics?.webhookDeliveries.inc({ outcome: outcome.kind });
    if (outcome.kind === 'delivered') {
      // Kept for WEBHOOK_LOG_TTL, still sealed, for a replay (POST /v1/webhooks/replay).
      await this.opts.outbox.done(e.id, e.lease, this.timing.now() + this.opts.config.logTtlMs);
      this.opts.logger.debug({ eventId: e.id, attempt: e.attempts + 1, status: outcome.status }, 'webhook delivered');
      return;
    }
    const retryInMs = this.stopping.signal.aborted ? 0 : retryDelayMs(e.attempts, this.timing.firstRetryMs);
    if (outcome.kind === 'gone') await this.disabled.disable(e.id);
    else
      this.opts.logger.warn(
        { eventId: e.id, attempt: e.attempts + 1, status: outcome.status, code: outcome.code, retryInMs },
        'webhook delivery failed; will retry',
      );
    await this.opts.outbox.retry(e.id, e.lease, this.timing.now() + retryInMs);
  }

  /** A store failure: logged at most every STORE_LOG_EVERY_MS; the next round tries again. */
  private storeTrouble(err: unknown): void {
    const now = Date.now();
    if (now - this.lastStoreLog < STORE_LOG_EVERY_MS) return;
    this.lastStoreLog = now;
    // The code only: a store outage is expected trouble, not a bug, and needs no stack.
    const code = err instanceof AppError ? err.code : 'internal';
    if (code === 'internal') this.opts.logger.error({ err }, 'webhook delivery: unexpected failure; retrying');
    else
      this.opts.logger.warn(
        { code, detail: err instanceof AppError ? err.detail : undefined },
        'webhook delivery: the store did not answer; retrying',
      );
  }
}

/** The event's type, read from its opened body (for the log). */
function eventType(body: string): string | undefined {
  try {
    return (JSON.parse(body) as ConnectionEventBody).type;
  } catch {
    return undefined;
  }
}

/** True when `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const ok = await Promise.race([p.then(() => true as const), late]);
  clearTimeout(timer);
  return ok;
}

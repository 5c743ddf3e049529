/**
 * Delivery disabled after the endpoint answered 410 Gone: here at once, and in every other replica
 * (and after a restart) through a mark in the shared store, kept for WEBHOOK_MAX_AGE and read again
 * every DISABLED_CHECK_MS. The events stay in the outbox meanwhile.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthStore } from '../store/types.js';

/** How often the shared "disabled after a 410" mark is read again. */
const DISABLED_CHECK_MS = 10_000;

/** The store key of the "disabled after a 410" mark: per endpoint, without the URL itself. */
export const disabledMark = (url: string) => `webhook-disabled:${createHash('sha256').update(url).digest('hex')}`;

export interface DisabledStateOptions {
  /** The endpoint (WEBHOOK_URL) and how long a 410 disables it (WEBHOOK_MAX_AGE). */
  config: { url: string; maxAgeMs: number };
  authState: Pick<AuthStore, 'markOnce' | 'hasMark'>;
  logger: Logger;
  now: () => number;
}

/** Whether delivery is disabled, as this process last set it or read it from the store. */
export class DisabledState {
  private disabled = false;
  private disabledCheckedAt = -Infinity;

  constructor(private readonly opts: DisabledStateOptions) {}

  /** As last set or read (what /readyz shows); check() reads the store again when it is due. */
  get current(): boolean {
    return this.disabled;
  }

  /** The endpoint answered 410 to `eventId`: stop delivering, here at once and (through the shared mark) everywhere else. */
  async disable(eventId: string): Promise<void> {
    const wasDisabled = this.disabled;
    this.disabled = true;
    this.disabledCheckedAt = this.opts.now();
    const first = await this.opts.authState.markOnce(disabledMark(this.opts.config.url), this.opts.config.maxAgeMs);
    if (first || !wasDisabled) {
      this.opts.logger.error(
        { eventId, status: 410, disabledForSeconds: Math.round(this.opts.config.maxAgeMs / 1000) },
        'the webhook endpoint answered 410 Gone: webhook delivery is disabled (events stay in the outbox)',
      );
    }
  }

  /** Whether delivery is disabled (read from the store every DISABLED_CHECK_MS). */
  async check(): Promise<boolean> {
    const now = this.opts.now();
    if (now - this.disabledCheckedAt < DISABLED_CHECK_MS) return this.disabled;
    const marked = await this.opts.authState.hasMark(disabledMark(this.opts.config.url));
    this.disabledCheckedAt = now;
    if (marked && !this.disabled) {
      this.opts.logger.error(
        'webhook delivery is disabled: the endpoint answered 410 Gone (events stay in the outbox)',
      );
    } else if (!marked && this.disabled) {
      this.opts.logger.info('webhook delivery is enabled again');
    }
    this.disabled = marked;
    return marked;
  }
}

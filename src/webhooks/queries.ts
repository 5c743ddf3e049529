/**
 * The delivery log's and the replay's queries, checked, and an attempt as the outside sees it:
 * shared by the service API (routes/serviceWebhooks.ts, routes/serviceReplay.ts) and the operator
 * CLI (cli/webhooks.ts), so both read and replay exactly alike. A bad value is a bad_request
 * AppError naming it (the route answers 400, the CLI exits 2).
 */
import { z } from 'zod';
import { badRequest } from '../errors.js';
import type { DeliveryAttempt, ReplayQuery } from '../store/types.js';

export const DELIVERY_STATUSES: readonly DeliveryAttempt['status'][] = ['delivered', 'failed', 'gone', 'dead'];
/** The most log entries one read takes from the store (filtered out or not). */
export const LOG_READ_MAX = 1000;
/** The most events one replay call puts back. */
export const REPLAY_MAX = 1000;
/** The most ids one replay may name. */
export const REPLAY_IDS_MAX = 100;

/** A status filter, checked. */
export function deliveryStatus(status: string | undefined): DeliveryAttempt['status'] | undefined {
  if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status))
    throw badRequest(`status must be one of ${DELIVERY_STATUSES.join(', ')}`);
  return status as DeliveryAttempt['status'] | undefined;
}

/** One attempt as the service API and the CLI show it: never a payload, a subject or a secret. */
export function deliveryJson(a: DeliveryAttempt) {
  return {
    eventId: a.eventId,
    type: a.type,
    status: a.status,
    statusCode: a.statusCode,
    durationMs: a.durationMs,
    attempt: a.attempt,
    errorClass: a.errorClass,
    at: new Date(a.at).toISOString(),
  };
}

const instant = z.string().max(64).datetime({ offset: true });
export const ReplayInput = z
  .object({
    since: instant,
    until: instant.optional(),
    ids: z
      .array(z.string().regex(/^msg_[A-Za-z0-9_-]{1,64}$/))
      .min(1)
      .max(REPLAY_IDS_MAX)
      .optional(),
  })
  .strict();

/** A replay's input (`{since, until?, ids?}`, RFC 3339 times) as a store query; else bad_request naming the first problem. */
export function replayQuery(input: unknown, now: number): ReplayQuery {
  const parsed = ReplayInput.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`${issue.path.join('.') || 'body'}: ${issue.message}`.slice(0, 200));
  }
  const since = Date.parse(parsed.data.since);
  const until = parsed.data.until === undefined ? now : Date.parse(parsed.data.until);
  if (since > until) throw badRequest('since must not be after until');
  return { since, until, ids: parsed.data.ids, max: REPLAY_MAX };
}

/**
 * What the worker writes to the delivery log (GET /v1/webhooks/deliveries): one entry per attempt,
 * with the event's id and type, the status code, the duration, the attempt number and the error
 * class; never the body, the subject, the URL or a secret. Kept for WEBHOOK_LOG_TTL, at most
 * DELIVERY_LOG_MAX entries (the oldest go first).
 */
import { randomBytes } from 'node:crypto';
import type { DeliveryAttempt } from '../store/types.js';
import type { SendOutcome } from './send.js';

/** The most entries the delivery log keeps, across every replica. */
export const DELIVERY_LOG_MAX = 100_000;

/** A log key: the time (13 digits, so keys sort by it) and a random tail. */
export const attemptKey = (at: number): string =>
  `${String(Math.max(0, Math.floor(at))).padStart(13, '0')}-${randomBytes(6).toString('hex')}`;

/** The error class of an outcome: null when delivered, `http_<status>` for an answer, else the transport's code. */
export function errorClassOf(outcome: SendOutcome | 'dead'): string | null {
  if (outcome === 'dead') return 'max_age';
  if (outcome.kind === 'delivered') return null;
  if (outcome.status !== undefined) return `http_${outcome.status}`;
  return outcome.kind === 'failed' ? (outcome.code ?? 'network_error') : 'network_error';
}

export function attemptEntry(
  e: { id: string; attempts: number },
  type: string | undefined,
  outcome: SendOutcome | 'dead',
  startedAt: number,
  endedAt: number,
): DeliveryAttempt {
  return {
    key: attemptKey(endedAt),
    eventId: e.id,
    type: type ?? 'unknown',
    status: outcome === 'dead' ? 'dead' : outcome.kind,
    statusCode: outcome === 'dead' ? null : (outcome.status ?? null),
    durationMs: Math.max(0, Math.round(endedAt - startedAt)),
    attempt: e.attempts + 1,
    errorClass: errorClassOf(outcome),
    at: endedAt,
  };
}

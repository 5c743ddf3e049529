/**
 * The audit log: one JSON line per security event on the same stdout stream as every other line,
 * tagged `"audit": true` with an `event` name, so a log shipper can route them. Each line carries
 * the request id and client IP (when the event happens during a request), the provider, and a
 * hash of the session owner or subject: never the raw value, never a token or secret (the line
 * goes through the same scrubbing logger as every other).
 *
 * Written at info level whatever LOG_LEVEL says (except `silent`): an operator who turns the
 * chatter down still gets the audit trail.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { requestInfo } from './requestContext.js';

export type AuditEvent =
  | 'login_started'
  | 'login_succeeded'
  | 'login_failed'
  | 'disconnected'
  | 'refresh_rejected'
  | 'csrf_refused'
  | 'rate_limited'
  | 'service_call'
  /** A service API call outside its key's scopes (403 scope_missing; reason: the missing scope). */
  | 'scope_refused'
  /** DELETE /v1/subjects/{sub}: the subject's browser bindings ended; each connection it ended has its own `disconnected` line. */
  | 'subject_ended'
  | 'link_refused'
  /** A link bound this browser to a subject that was connected already: no trip to the provider (`connected: true`). */
  | 'link_used'
  /** A back-channel logout token that was refused (reason: which check failed). */
  | 'logout_token_refused'
  /** A back-channel logout token that was accepted (reason: what it named, sid or sub); each connection it ended has its own `disconnected` line. */
  | 'logout_token_accepted'
  /** A reconnect renewed the connection in place (same subject, same connection id). */
  | 'reconnected'
  /** A reconnect approved as another account at the provider: nothing replaced, the new tokens discarded (reason). */
  | 'reconnect_refused'
  /** `xt-connect subject erase`: the subject's records, index entries and `count` other queued or kept webhook events removed. */
  | 'subject_erased'
  /** POST /v1/webhooks/replay put `count` kept webhook events back in the queue. */
  | 'webhooks_replayed';

export interface AuditFields {
  provider?: string;
  /** A session's private owner id or a subject key: hashed before it is written. */
  owner?: string;
  reason?: string;
  /** The service API key's name (never the key). */
  serviceKey?: string;
  status?: number;
  method?: string;
  /** A route pattern, never a path with an id in it. */
  route?: string;
  /** link_used: the subject was connected already, so the browser got its connection without a login. */
  connected?: boolean;
  /** login_started: the login is a reconnect (renews the stored connection in place). */
  reconnect?: boolean;
  /** webhooks_replayed: how many events went back in the queue. */
  count?: number;
}

/** A short, stable, one-way name for an owner id or subject key. */
export const ownerHash = (owner: string): string => createHash('sha256').update(owner).digest('base64url').slice(0, 22);

export class Audit {
  private readonly log: Logger;

  constructor(logger: Logger) {
    this.log =
      logger.isLevelEnabled('info') || logger.level === 'silent' ? logger : logger.child({}, { level: 'info' });
  }

  write(event: AuditEvent, fields: AuditFields = {}): void {
    const req = requestInfo.getStore();
    const { owner, ...rest } = fields;
    this.log.info(
      {
        audit: true,
        event,
        reqId: req?.reqId,
        ip: req?.ip,
        ...rest,
        owner: owner === undefined ? undefined : ownerHash(owner),
      },
      `audit: ${event}`,
    );
  }
}

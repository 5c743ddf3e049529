/**
 * The client's two error classes. XtConnectError: every failed call, with the contract's error
 * `code` (the one error table) or one of the client's own (`network`, `xt_refused`,
 * `unexpected_response`). WebhookVerificationError: a webhook that must not be trusted.
 */
import type { ClientErrorCode, ServiceScope } from './types.js';

export interface XtConnectErrorInit {
  code: ClientErrorCode;
  status: number;
  message?: string;
  retryAfter?: number;
  requestId?: string;
  provider?: string;
  scope?: ServiceScope;
  body?: unknown;
  cause?: unknown;
}

export class XtConnectError extends Error {
  /** The error table's code, or `network`, `xt_refused`, `unexpected_response` (see ClientErrorCode). */
  readonly code: ClientErrorCode;
  /** The HTTP status; 0 when there was no answer (`network`). */
  readonly status: number;
  /** Seconds to wait before trying again (429 and 503), from `Retry-After`. */
  readonly retryAfter?: number;
  /** The request's id (`X-Request-Id`), for xt-connect's logs. */
  readonly requestId?: string;
  /** The provider the error is about, when known. */
  readonly provider?: string;
  /** `scope_missing` only: the scope the service key lacks. */
  readonly scope?: ServiceScope;
  /** `xt_refused` (and `unexpected_response`): the answer's body as received (XT.COM's own JSON for `xt_refused`). */
  readonly body?: unknown;

  constructor(init: XtConnectErrorInit) {
    super(init.message ?? init.code, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'XtConnectError';
    this.code = init.code;
    this.status = init.status;
    if (init.retryAfter !== undefined) this.retryAfter = init.retryAfter;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.provider !== undefined) this.provider = init.provider;
    if (init.scope !== undefined) this.scope = init.scope;
    if (init.body !== undefined) this.body = init.body;
  }
}

/** Why a webhook was refused: a missing or malformed header, an old (or future) timestamp, a bad signature, a body that is no event. */
export type WebhookFailure = 'headers' | 'timestamp' | 'signature' | 'payload';

export class WebhookVerificationError extends Error {
  readonly reason: WebhookFailure;

  constructor(reason: WebhookFailure, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

/**
 * One error type for every failure a person can meet, and one table that gives each `code` its
 * HTTP status, its way forward and the message shown (in the person's language). A throw site
 * names only the code, the provider and plain details; everything else comes from the table.
 *
 * Nothing from a provider response or an HTTP client is ever attached here: the `detail` bag
 * holds only plain, pre-sanitised values (rc/mc, HTTP status, reason), so a logger that
 * serialises the error cannot reach a URL, a secret or a token.
 */
import type { MessageKey } from './i18n/index.js';

/** What the page offers: try the same again, connect again, go home, or start a login. */
export type NextStep = 'retry' | 'reconnect' | 'home' | 'login';

interface ErrorSpec {
  status: number;
  next: NextStep;
  /**
   * The status on the service API (/v1), where the caller is the institution's backend rather than
   * the person: a subject that is not connected is a conflict with the request, not a login to start.
   */
  serviceStatus?: number;
}

export const ERRORS = {
  bad_request: { status: 400, next: 'home' },
  payload_too_large: { status: 413, next: 'home' },
  uri_too_long: { status: 414, next: 'home' },
  not_found: { status: 404, next: 'home' },
  csrf_failed: { status: 403, next: 'home' },
  /** /api/xt: the path (and method) is not on XT_API_ALLOW, or is never allowed (api-key). */
  not_allowed: { status: 403, next: 'home' },
  method_not_allowed: { status: 405, next: 'home' },
  /** A request body that is not JSON. */
  unsupported_media_type: { status: 415, next: 'home' },
  /** The login transaction is unknown, used, expired or belongs elsewhere. */
  login_expired: { status: 400, next: 'login' },
  /** A link token from the institution's site is malformed, forged, or meant for another site. */
  link_invalid: { status: 400, next: 'home' },
  /** A genuine link token from the institution's site that has expired or was already used. */
  link_expired: { status: 400, next: 'home' },
  /** LINK_REQUIRED: a login that did not come with a link from the institution's site. */
  link_required: { status: 403, next: 'home' },
  /** The service API: no key, or a key that is not one of SERVICE_API_KEYS. */
  unauthorized: { status: 401, next: 'home' },
  /** The person (or the provider) declined at the provider's page. */
  login_denied: { status: 400, next: 'login' },
  /** The callback's parameters are unusable (no code, a mix-up `iss`). */
  callback_invalid: { status: 400, next: 'login' },
  /** The provider refused a grant (rc ≠ 0, invalid_grant): start again. */
  provider_rejected: { status: 502, next: 'login' },
  provider_bad_response: { status: 502, next: 'retry' },
  /** A provider call failed: refused connection, 429 or 5xx. */
  provider_unavailable: { status: 502, next: 'retry' },
  /** The provider cannot be used right now and nothing usable is held: retry later (Retry-After). */
  provider_down: { status: 503, next: 'retry' },
  provider_timeout: { status: 504, next: 'retry' },
  /** Our own registration or request is wrong (XT.COM AUTH_1xx, invalid_client): the site's problem. */
  provider_misconfigured: { status: 502, next: 'retry' },
  id_token_invalid: { status: 502, next: 'login' },
  reconnect_required: { status: 401, next: 'reconnect', serviceStatus: 409 },
  not_connected: { status: 401, next: 'login', serviceStatus: 409 },
  store_unavailable: { status: 503, next: 'retry' },
  rate_limited: { status: 429, next: 'retry' },
  internal: { status: 500, next: 'retry' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The status of `code` on the service API (/v1). */
export const serviceStatus = (code: ErrorCode): number => {
  const spec: ErrorSpec = ERRORS[code];
  return spec.serviceStatus ?? spec.status;
};

/** The message key of a code: every code has one in every language (checked by the compiler). */
export const messageKey = (code: ErrorCode): MessageKey & `error.${ErrorCode}` => `error.${code}`;

export type Detail = Record<string, string | number | boolean | undefined>;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly next: NextStep;
  readonly provider?: string;
  /** Plain values that are safe to log. Never a URL, a token, a code or a secret. */
  readonly detail: Detail;

  constructor(code: ErrorCode, opts: { provider?: string; detail?: Detail } = {}) {
    super(code);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.next = ERRORS[code].next;
    this.provider = opts.provider;
    this.detail = opts.detail ?? {};
  }

  /** Seconds to put in Retry-After, for the statuses that invite a later retry. */
  get retryAfterSec(): number | undefined {
    if (this.status !== 503 && this.status !== 429) return undefined;
    const ms = this.detail.retryAfterMs;
    return typeof ms === 'number' && ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : 5;
  }
}

export const badRequest = (reason: string) => new AppError('bad_request', { detail: { reason } });

/** Turns whatever was thrown into an AppError without keeping the original object around. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  // Errors raised by Express/body parsers for bad input (malformed URI, too large, …) carry a 4xx status.
  if (status >= 400 && status < 500) {
    if (status === 404) return new AppError('not_found');
    const detail = { reason: typeof e?.type === 'string' ? e.type.slice(0, 64) : 'invalid request' };
    if (status === 413) return new AppError('payload_too_large', { detail });
    if (status === 414) return new AppError('uri_too_long', { detail });
    return new AppError('bad_request', { detail });
  }
  return new AppError('internal');
}

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
  /**
   * What the code means, in short technical English for programs: the `message` of a /v1 error
   * (pages and /api show the person's-language message of the catalogs instead).
   */
  summary: string;
}

export const ERRORS = {
  bad_request: {
    status: 400,
    next: 'home',
    summary: 'The request is malformed: a parameter, the path, the query or the body.',
  },
  payload_too_large: { status: 413, next: 'home', summary: 'The request body is over its size limit.' },
  uri_too_long: { status: 414, next: 'home', summary: 'The request target is over its length limit.' },
  not_found: { status: 404, next: 'home', summary: 'No such route, provider or resource.' },
  csrf_failed: {
    status: 403,
    next: 'home',
    summary: "A state-changing request without the session's form token, or from another origin.",
  },
  /** /api/xt: the path (and method) is not on XT_API_ALLOW, or is never allowed (api-key). */
  not_allowed: { status: 403, next: 'home', summary: 'The method and path are not on the XT.COM allow-list.' },
  method_not_allowed: { status: 405, next: 'home', summary: 'The method is not one this route takes.' },
  /** A request body that is not JSON. */
  unsupported_media_type: {
    status: 415,
    next: 'home',
    summary: 'The request body is not JSON (UTF-8, not compressed).',
  },
  /** The login transaction is unknown, used, expired or belongs elsewhere. */
  login_expired: {
    status: 400,
    next: 'login',
    summary: 'The login transaction is unknown, used, expired or belongs elsewhere.',
  },
  /** A link token from the institution's site is malformed, forged, or meant for another site. */
  link_invalid: {
    status: 400,
    next: 'home',
    summary: 'The link token is malformed, forged or meant for another site.',
  },
  /** A genuine link token from the institution's site that has expired or was already used. */
  link_expired: { status: 400, next: 'home', summary: 'The link token has expired or was already used.' },
  /** LINK_REQUIRED: a login that did not come with a link from the institution's site. */
  link_required: {
    status: 403,
    next: 'home',
    summary: "A login needs a link token from the institution's site (LINK_REQUIRED).",
  },
  /** The service API: the key presented lacks the scope the call needs (SERVICE_API_KEYS name:key:scope+scope). */
  scope_missing: { status: 403, next: 'home', summary: 'The service key lacks the scope this call needs.' },
  /** The service API: no key, or a key that is not one of SERVICE_API_KEYS. */
  unauthorized: { status: 401, next: 'home', summary: 'A valid bearer service key is required.' },
  /** The person (or the provider) declined at the provider's page. */
  login_denied: { status: 400, next: 'login', summary: 'The person, or the provider, declined at the provider.' },
  /** The callback's parameters are unusable (no code, a mix-up `iss`). */
  callback_invalid: { status: 400, next: 'login', summary: "The provider's callback parameters are unusable." },
  /** The provider refused a grant (rc ≠ 0, invalid_grant): start again. */
  provider_rejected: { status: 502, next: 'login', summary: 'The provider refused the grant.' },
  provider_bad_response: { status: 502, next: 'retry', summary: 'The provider answered something unusable.' },
  /** A provider call failed: refused connection, 429 or 5xx. */
  provider_unavailable: {
    status: 502,
    next: 'retry',
    summary: 'The provider could not be reached, or answered with an error.',
  },
  /** The provider cannot be used right now and nothing usable is held: retry later (Retry-After). */
  provider_down: {
    status: 503,
    next: 'retry',
    summary: 'The provider cannot be used right now; retry after Retry-After.',
  },
  provider_timeout: { status: 504, next: 'retry', summary: 'The provider did not answer in time.' },
  /** Our own registration or request is wrong (XT.COM AUTH_1xx, invalid_client): the site's problem. */
  provider_misconfigured: {
    status: 502,
    next: 'retry',
    summary: "The provider refused this deployment's credentials or request: a configuration problem.",
  },
  id_token_invalid: { status: 502, next: 'login', summary: "The provider's ID token failed a check." },
  reconnect_required: {
    status: 401,
    next: 'reconnect',
    serviceStatus: 409,
    summary: 'The connection to this provider has ended; the person must connect again.',
  },
  /** A reconnect approved at the provider as another account: nothing was replaced (auth/reconnect.ts). */
  reconnect_other_account: {
    status: 409,
    next: 'home',
    summary:
      'A reconnect was approved as another provider account; nothing was replaced and the new tokens were discarded.',
  },
  not_connected: {
    status: 401,
    next: 'login',
    serviceStatus: 409,
    summary: 'The subject has no connection to this provider.',
  },
  store_unavailable: {
    status: 503,
    next: 'retry',
    summary: 'The session store cannot answer right now; retry after Retry-After.',
  },
  rate_limited: { status: 429, next: 'retry', summary: 'Too many requests; retry after Retry-After.' },
  internal: { status: 500, next: 'retry', summary: 'An unexpected error; it was logged.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The status of `code` on the service API (/v1). */
export const serviceStatus = (code: ErrorCode): number => {
  const spec: ErrorSpec = ERRORS[code];
  return spec.serviceStatus ?? spec.status;
};

/** The short technical text of `code`, for programs (the /v1 error `message`). */
export const summaryOf = (code: ErrorCode): string => ERRORS[code].summary;

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

/**
 * One error type for every failure a person can meet. It carries a string `code`
 * (which also selects the message shown, in the person's language), an HTTP status,
 * and the way forward offered on the page.
 *
 * Nothing from a provider response or an HTTP client is ever attached here: the
 * `detail` bag holds only plain, pre-sanitised values (rc/mc, HTTP status, reason),
 * so a logger that serialises the error cannot reach a URL, a secret or a token.
 */
export type NextStep = 'retry' | 'reconnect' | 'home' | 'login';

export type ErrorCode =
  | 'bad_request'
  | 'not_found'
  | 'csrf_failed'
  | 'login_expired'
  | 'login_denied'
  | 'provider_rejected'
  | 'provider_bad_response'
  | 'provider_unavailable'
  | 'provider_timeout'
  | 'provider_misconfigured'
  | 'id_token_invalid'
  | 'reconnect_required'
  | 'not_connected'
  | 'store_unavailable'
  | 'rate_limited'
  | 'internal';

export type Detail = Record<string, string | number | boolean | undefined>;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly next: NextStep;
  readonly provider?: string;
  /** Plain values that are safe to log. Never a URL, a token, a code or a secret. */
  readonly detail: Detail;

  constructor(code: ErrorCode, status: number, opts: { next?: NextStep; provider?: string; detail?: Detail; message?: string } = {}) {
    super(opts.message ?? code);
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.next = opts.next ?? defaultNext(status);
    this.provider = opts.provider;
    this.detail = opts.detail ?? {};
  }
}

function defaultNext(status: number): NextStep {
  return status >= 500 ? 'retry' : 'home';
}

export const badRequest = (reason: string) => new AppError('bad_request', 400, { detail: { reason } });

/** Turns whatever was thrown into an AppError without keeping the original object around. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  // Errors raised by Express/body parsers for bad input (malformed URI, too large, …) carry a 4xx status.
  if (status >= 400 && status < 500) {
    if (status === 404) return new AppError('not_found', 404);
    return new AppError('bad_request', status === 413 || status === 414 ? status : 400, {
      detail: { reason: typeof e?.type === 'string' ? e.type : 'invalid request' },
    });
  }
  return new AppError('internal', 500, { next: 'retry' });
}

/**
 * What one answer of XT.COM's user APIs means, decided in one place (either envelope shape; in
 * the returnCode shape `error.code` is the mc, and returnCode the rc):
 *  - JSON with rc 0, or rc 1 with a business mc: XT.COM's own answer, passed on unchanged;
 *  - any AUTH_ mc, whatever the HTTP status: the institution's configuration (AUTH_105: our clock);
 *  - HTTP 401 without an AUTH_ mc: the person's token was refused;
 *  - 429: XT.COM's rate limit; 5xx: unavailable; anything that is not an envelope: a bad response.
 */
import { AppError } from '../../errors.js';
import type { RawResponse } from './http.js';
import { type XtEnvelope, readXtEnvelope } from './envelope.js';

/** XT.COM's answer as it came: its HTTP status and its raw JSON body. */
export interface XtAnswer {
  status: number;
  body: string;
}

export type XtOutcome =
  /** XT.COM's own answer; `mc` is set for a business refusal (rc 1); `code` is the answer's mc whatever its rc (for traces). */
  | { kind: 'answer'; answer: XtAnswer; mc?: string; code: string }
  | { kind: 'token_rejected' }
  | { kind: 'clock'; mc: string; httpStatus: number }
  | { kind: 'misconfigured'; mc: string; httpStatus: number }
  | { kind: 'rate_limited'; retryAfterMs: number };

/**
 * The hold after an XT.COM 429 that gave no Retry-After. Protocol, so it lives here (the guard in
 * services/xtGuard.ts imports it; providers/ may not import services/).
 */
export const DEFAULT_HOLD_MS = 10_000;
const MAX_HOLD_MS = 10 * 60_000;

const isAuthMc = (mc: string) => mc.startsWith('AUTH_');

export function classify(res: RawResponse, path: string, now: number): XtOutcome {
  const detail = { httpStatus: res.status, path };
  if (res.status === 429) return { kind: 'rate_limited', retryAfterMs: retryAfterMs(res.retryAfter, now) };
  if (res.status >= 500)
    throw new AppError('provider_unavailable', { provider: 'xt', detail: { ...detail, reason: 'http error' } });
  if (res.status === 401) {
    // A 401 is about the token, unless XT.COM says it is about our signature.
    const env = envelopeOrUndefined(res, path);
    return env && isAuthMc(env.mc) ? authOutcome(env, res.status) : { kind: 'token_rejected' };
  }
  const env = readXtEnvelope(res, 'xt', detail); // not JSON, not an envelope: provider_bad_response
  if (isAuthMc(env.mc)) return authOutcome(env, res.status);
  // XT.COM's own answer passes through: rc 0 with a 2xx, or rc 1 (a business refusal) with a 2xx or 4xx.
  // Any other status (a 3xx without its Location, a 299) is not something a page script can read.
  const is2xx = res.status >= 200 && res.status < 300;
  const is4xx = res.status >= 400 && res.status < 500;
  if ((env.rc === 0 && is2xx) || (env.rc === 1 && (is2xx || is4xx)))
    return {
      kind: 'answer',
      answer: { status: res.status, body: res.body },
      mc: env.rc === 1 ? env.mc : undefined,
      code: env.mc,
    };
  throw new AppError('provider_bad_response', {
    provider: 'xt',
    detail: {
      ...detail,
      reason: env.rc === 0 || env.rc === 1 ? 'unexpected HTTP status for the envelope' : 'unknown rc',
      rc: env.rc,
    },
  });
}

const authOutcome = (env: XtEnvelope, httpStatus: number): XtOutcome => ({
  kind: env.mc === 'AUTH_105' ? 'clock' : 'misconfigured',
  mc: env.mc,
  httpStatus,
});

function envelopeOrUndefined(res: RawResponse, path: string): XtEnvelope | undefined {
  try {
    return readXtEnvelope(res, 'xt', { httpStatus: res.status, path });
  } catch {
    return undefined;
  }
}

/** Retry-After in seconds or as an HTTP date; absent or odd: DEFAULT_HOLD_MS. Capped at 10 minutes. */
export function retryAfterMs(header: string | undefined, now: number): number {
  if (!header) return DEFAULT_HOLD_MS;
  const trimmed = header.trim();
  let ms: number;
  if (/^\d{1,7}$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (!Number.isFinite(at)) return DEFAULT_HOLD_MS;
    ms = at - now;
  }
  return Math.min(MAX_HOLD_MS, Math.max(1000, ms));
}

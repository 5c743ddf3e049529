/**
 * The one place that reads XT.COM's answer envelope, for the token endpoint, the user APIs, the
 * server time and the balances alike. XT.COM answers in two shapes:
 *  - `{rc, mc, ma, result}` (rc 0 is success; `mc` names the refusal);
 *  - `{returnCode, msgInfo, error, result}` (its "Return Format" page and newer APIs: returnCode 0
 *    is success; on a failure `error.code` names it, e.g. AUTH_103).
 * Both come out as one XtEnvelope, with `error.code` in the part of `mc`, so every caller decides
 * the same way whichever shape XT.COM used.
 */
import { z } from 'zod';
import { AppError, type Detail } from '../../errors.js';
import type { RawResponse } from './http.js';

/**
 * A code as a number or as a digit string: XT.COM's documents write `rc: 0`, but answers recorded
 * from its live API (ccxt's static tests) carry `"rc": "0"`. Either reads as the same number.
 */
const code = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d{1,9}$/)
    .transform(Number),
]);

const rcSchema = z.object({
  rc: code,
  mc: z.string().max(64).optional(),
  result: z.unknown().optional(),
});

const returnCodeSchema = z.object({
  returnCode: code,
  msgInfo: z.string().max(256).nullish(),
  error: z.object({ code: z.string().max(64).optional() }).nullish(),
  result: z.unknown().optional(),
});

export interface XtEnvelope {
  rc: number;
  /** The message code (`mc`, or `error.code`), reduced to a safe identifier ('unknown' when absent or odd). */
  mc: string;
  result: unknown;
}

/** An `mc` as a plain identifier that may be logged and counted; anything else is 'unknown'. */
export function cleanMc(mc: unknown): string {
  return typeof mc === 'string' && /^[A-Z0-9_]{1,32}$/.test(mc) ? mc : 'unknown';
}

/** mc codes that say our own credentials or request are wrong, not that the person's grant is dead: AUTH_001–007 and every AUTH_1xx. */
export function isClientSideMc(mc: string): boolean {
  return /^AUTH_(00[1-7]|1\d\d)$/.test(mc);
}

/** Parses the body as an XT.COM envelope (either shape), or throws provider_bad_response (an HTML error page, a truncated body, …). */
export function readXtEnvelope(res: RawResponse, provider: string, detail: Detail = {}): XtEnvelope {
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    throw new AppError('provider_bad_response', {
      provider,
      detail: { ...detail, reason: 'not JSON', httpStatus: res.status, contentType: res.contentType.slice(0, 60) },
    });
  }
  const env = toEnvelope(body);
  if (!env)
    throw new AppError('provider_bad_response', {
      provider,
      detail: { ...detail, reason: 'not an XT.COM envelope', httpStatus: res.status },
    });
  return env;
}

function toEnvelope(body: unknown): XtEnvelope | undefined {
  // Both shapes in one answer: which one speaks is anybody's guess, so neither is believed.
  if (body && typeof body === 'object' && 'rc' in body && 'returnCode' in body) return undefined;
  const rc = rcSchema.safeParse(body);
  if (rc.success) return { rc: rc.data.rc, mc: cleanMc(rc.data.mc), result: rc.data.result };
  const rt = returnCodeSchema.safeParse(body);
  if (!rt.success) return undefined;
  const { returnCode, error, result } = rt.data;
  // A success has no error object: its code is SUCCESS, as in the rc shape.
  return { rc: returnCode, mc: returnCode === 0 && !error?.code ? 'SUCCESS' : cleanMc(error?.code), result };
}

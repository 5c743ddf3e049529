/**
 * The one place that reads XT.COM's answer envelope `{rc, mc, ma, result}` (rc 0 is success)
 * and cleans its `mc` code, for the token endpoint and the user APIs alike.
 */
import { z } from 'zod';
import { AppError, type Detail } from '../errors.js';
import type { RawResponse } from './http.js';

const envelopeSchema = z.object({
  rc: z.number(),
  mc: z.string().max(64).optional(),
  result: z.unknown().optional(),
});

export interface XtEnvelope {
  rc: number;
  /** The message code, reduced to a safe identifier ('unknown' when absent or odd). */
  mc: string;
  result: unknown;
}

/** An `mc` as a plain identifier that may be logged and counted; anything else is 'unknown'. */
export function cleanMc(mc: unknown): string {
  return typeof mc === 'string' && /^[A-Z0-9_]{1,32}$/.test(mc) ? mc : 'unknown';
}

/** mc codes that say our own credentials or request are wrong, not that the person's grant is dead. */
export function isClientSideMc(mc: string): boolean {
  return /^AUTH_(00[1-7]|10[1-6])$/.test(mc);
}

/** Parses the body as an XT.COM envelope, or throws provider_bad_response (an HTML error page, a truncated body, …). */
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
  const env = envelopeSchema.safeParse(body);
  if (!env.success) throw new AppError('provider_bad_response', { provider, detail: { ...detail, reason: 'not an XT.COM envelope', httpStatus: res.status } });
  return { rc: env.data.rc, mc: cleanMc(env.data.mc), result: env.data.result };
}

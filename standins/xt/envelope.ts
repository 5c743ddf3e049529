/**
 * The envelope every JSON answer of the XT.COM stand-in comes in: `{rc, mc, ma, result}`, or,
 * while the stand-in is set so, the same restated as `{returnCode, msgInfo, error, result}`.
 */
import type { RequestHandler } from 'express';
import type { XtUserApiSettings } from '../xtUser.js';

export const envelope = (rc: number, mc: string, result: unknown = null) => ({ rc, mc, ma: [], result });
export const ok = (result: unknown) => envelope(0, 'SUCCESS', result);

/** `{rc, mc, result}` restated in the returnCode shape, as XT.COM's "Return Format" page has it. */
export function asReturnCode(body: { rc: number; mc: string; result?: unknown }) {
  const failed = body.rc !== 0;
  return {
    returnCode: body.rc,
    msgInfo: failed ? 'failure' : 'success',
    error: failed ? { code: body.mc, msg: body.mc } : null,
    result: body.result ?? null,
  };
}

/** Rewrites every `res.json({rc, mc, …})` into the returnCode shape while `o.envelopeShape` says so (read per request). */
export function envelopeShape(o: Pick<XtUserApiSettings, 'envelopeShape'>): RequestHandler {
  return (_req, res, next) => {
    if (o.envelopeShape === 'returnCode') {
      const json = res.json.bind(res);
      res.json = (body: unknown) =>
        json(
          body && typeof body === 'object' && 'rc' in body && 'mc' in body
            ? asReturnCode(body as { rc: number; mc: string })
            : body,
        );
    }
    next();
  };
}

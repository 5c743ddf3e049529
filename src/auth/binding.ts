/**
 * The end of a subject's bindings (DELETE /v1/subjects/{sub}, session/bindings.ts), as a bound
 * browser meets it: a session bound under an epoch older than its subject's is unbound before
 * anything reads whose connections it sees (connecting, /api/session, /api/xt, the pages), and the
 * binding is cleared from the session. Only a bound session pays for this (one store read).
 */
import type { NextFunction, Request, Response } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';

/** Whether `epoch` is still the subject's current epoch. */
export async function isCurrentEpoch(ctx: AppContext, subjectKey: string, epoch: string | undefined): Promise<boolean> {
  return (await ctx.bindings.current(subjectKey)) === (epoch ?? '');
}

/** Middleware, after the session: drops a binding whose subject has been ended since it was made. */
export function endedBindings(ctx: AppContext) {
  return function dropEndedBinding(req: Request, _res: Response, next: NextFunction): void {
    const key = req.session?.subject;
    if (key === undefined) return next();
    isCurrentEpoch(ctx, key, req.session.subjectEpoch).then(
      (current) => {
        if (!current) {
          delete req.session.subject;
          delete req.session.subjectSeal;
          delete req.session.subjectEpoch;
          ctx.logger.info({ reqId: req.id }, 'a browser binding to an ended subject was cleared');
        }
        next();
      },
      (err: unknown) => next(err instanceof AppError ? err : new AppError('store_unavailable')),
    );
  };
}

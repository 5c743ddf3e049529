/**
 * The end of a subject's bindings (DELETE /v1/subjects/{sub}, session/bindings.ts), as a bound
 * browser meets it: a session bound under an epoch older than its subject's is unbound before
 * anything reads whose connections it sees (connecting, /api/session, /api/xt, the pages), and the
 * binding is cleared from the session. Only a bound session pays for this (one store read).
 */
import type { NextFunction, Request, Response } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { subjectAad } from './link.js';

/** Whether `epoch` is still the subject's current epoch. */
export async function isCurrentEpoch(ctx: AppContext, subjectKey: string, epoch: string | undefined): Promise<boolean> {
  return (await ctx.bindings.current(subjectKey)) === (epoch ?? '');
}

/**
 * While SUBJECT_KEYS rotates: a session bound under another key than the newest is bound again
 * under the newest, its subject's records moved there first (session/subjectMoves.ts). The raw
 * subject comes from the session's own seal; a seal that does not open leaves the binding as it is.
 */
async function currentKey(ctx: AppContext, req: Request, key: string): Promise<string> {
  resealSubject(ctx, req, key);
  if (!ctx.subjectMoves.rotating || !req.session.subjectSeal) return key;
  const subject = ctx.sealer.open(req.session.subjectSeal, subjectAad(key));
  if (subject === undefined || !ctx.subjects.ownersOf(subject).includes(key)) return key;
  const newest = await ctx.subjectMoves.resolve(subject);
  if (newest !== key) {
    req.session.subject = newest;
    req.session.subjectSeal = ctx.sealer.seal(subject, subjectAad(newest));
  }
  return newest;
}

/**
 * The session's sealed subject, sealed again under the newest TOKEN_ENCRYPTION_KEYS key once it
 * rotated, so dropping the old key later does not leave the binding unreadable (the records in the
 * store are sealed again as they are written; this one lives in the session).
 */
function resealSubject(ctx: AppContext, req: Request, key: string): void {
  const seal = req.session.subjectSeal;
  if (!seal || !ctx.sealer.isStale(seal)) return;
  const subject = ctx.sealer.open(seal, subjectAad(key));
  if (subject !== undefined) req.session.subjectSeal = ctx.sealer.seal(subject, subjectAad(key));
}

/** Middleware, after the session: drops a binding whose subject has been ended since it was made. */
export function endedBindings(ctx: AppContext) {
  return function dropEndedBinding(req: Request, _res: Response, next: NextFunction): void {
    const bound = req.session?.subject;
    if (bound === undefined) return next();
    currentKey(ctx, req, bound)
      .then((key) => isCurrentEpoch(ctx, key, req.session.subjectEpoch))
      .then(
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

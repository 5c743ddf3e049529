/**
 * Cross-site request protection for every state-changing route: a per-session form token
 * (synchroniser pattern, compared in constant time) and, when the browser sends one, an
 * Origin that must be our own PUBLIC_URL.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import { safeEqual } from '../shared/crypto.js';
import { formString } from './params.js';

/**
 * Where the token may come from, and whether an opaque `Origin: null` may pass to the token check:
 * `form` for our own form posts (a referrer policy can make a browser send "null" there), `header`
 * for script calls (/api/xt), which come from our own pages with a real Origin or none.
 */
export type CsrfSource = 'form' | 'header';

/**
 * `providerOf` names the provider the route is for, when it knows one (a configured provider only,
 * never a name from the path as sent), so the refusal and its `csrf_refused` audit line carry it.
 */
export function requireCsrf(
  publicOrigin: string,
  source: CsrfSource = 'form',
  providerOf: (req: Request) => string | undefined = () => undefined,
) {
  return function checkCsrf(req: Request, _res: Response, next: NextFunction): void {
    const refuse = (reason: string) =>
      next(new AppError('csrf_failed', { provider: providerOf(req), detail: { reason } }));
    const origin = req.get('origin');
    const originOk = origin === undefined || origin === publicOrigin || (source === 'form' && origin === 'null');
    if (!originOk) return refuse('foreign origin');
    const expected = req.session?.csrf;
    const given = source === 'form' ? (formString(req, '_csrf') ?? req.get('x-csrf-token')) : req.get('x-csrf-token');
    if (!expected || !given || !safeEqual(expected, given)) return refuse('bad form token');
    next();
  };
}

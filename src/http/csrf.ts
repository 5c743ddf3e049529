/**
 * Cross-site request protection for every state-changing route: a per-session form token
 * (synchroniser pattern, compared in constant time) and, when the browser sends one, an
 * Origin that must be our own PUBLIC_URL.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import { safeEqual } from '../shared/crypto.js';
import { formString } from './params.js';

export function requireCsrf(publicOrigin: string) {
  return function checkCsrf(req: Request, _res: Response, next: NextFunction): void {
    // "null" is what a browser sends when a referrer policy hides the origin; the token still decides.
    const origin = req.get('origin');
    if (origin !== undefined && origin !== 'null' && origin !== publicOrigin) {
      return next(new AppError('csrf_failed', { detail: { reason: 'foreign origin' } }));
    }
    const expected = req.session?.csrf;
    const given = formString(req, '_csrf') ?? req.get('x-csrf-token');
    if (!expected || !given || !safeEqual(expected, given)) {
      return next(new AppError('csrf_failed', { detail: { reason: 'bad form token' } }));
    }
    next();
  };
}

/**
 * For script calls (/api/xt): the `X-CSRF-Token` header only, equal to the session's form token,
 * and an Origin, when the browser sends one, exactly our own (an opaque "null" is refused too).
 */
export function requireCsrfHeader(publicOrigin: string) {
  return function checkCsrfHeader(req: Request, _res: Response, next: NextFunction): void {
    const origin = req.get('origin');
    if (origin !== undefined && origin !== publicOrigin) return next(new AppError('csrf_failed', { detail: { reason: 'foreign origin' } }));
    const expected = req.session?.csrf;
    const given = req.get('x-csrf-token');
    if (!expected || !given || !safeEqual(expected, given)) return next(new AppError('csrf_failed', { detail: { reason: 'bad csrf header' } }));
    next();
  };
}

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

export function requireCsrf(publicOrigin: string, source: CsrfSource = 'form') {
  return function checkCsrf(req: Request, _res: Response, next: NextFunction): void {
    const origin = req.get('origin');
    const originOk = origin === undefined || origin === publicOrigin || (source === 'form' && origin === 'null');
    if (!originOk) return next(new AppError('csrf_failed', { detail: { reason: 'foreign origin' } }));
    const expected = req.session?.csrf;
    const given = source === 'form' ? (formString(req, '_csrf') ?? req.get('x-csrf-token')) : req.get('x-csrf-token');
    if (!expected || !given || !safeEqual(expected, given)) return next(new AppError('csrf_failed', { detail: { reason: 'bad form token' } }));
    next();
  };
}

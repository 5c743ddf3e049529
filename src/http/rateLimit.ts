/**
 * Rate limit for /auth/* per client IP (express-rate-limit). With the Redis store the counters
 * are shared by every replica. Over the limit: a 429 page (or JSON) from the one error handler.
 * The client IP is the socket's unless TRUST_PROXY says which proxies may set X-Forwarded-For.
 */
import { type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';

export function authRateLimit(ctx: AppContext): RequestHandler {
  const { max, windowMs } = ctx.config.authRateLimit;
  return rateLimit({
    windowMs,
    limit: max,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: ctx.stores.rateLimitStore?.('auth'),
    passOnStoreError: true, // a store outage is answered by the session layer, not by locking everyone out
    validate: { trustProxy: false, xForwardedForHeader: false },
    handler: (_req, _res, next) => next(new AppError('rate_limited', 429, { next: 'retry', detail: { windowMs } })),
  });
}

/**
 * Rate limit for /auth/* per client IP (express-rate-limit). With the Redis store the counters
 * are shared by every replica. Over the limit: a 429 page (or JSON) from the one error handler.
 * The client IP is the socket's unless TRUST_PROXY says which proxies may set X-Forwarded-For.
 */
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import type { RateLimitScope } from '../shared/metrics.js';

/** The library's own messages go through our logger (one JSON stream, scrubbed), without stacks. */
function libraryLogger(logger: Logger) {
  const plain = (err: unknown) => ({
    code: (err as { code?: unknown })?.code,
    errName: err instanceof Error ? err.name : typeof err,
  });
  return {
    warn: (err: unknown, msg?: string) => logger.warn(plain(err), msg ?? 'express-rate-limit warning'),
    error: (err: unknown, msg?: string) => logger.warn(plain(err), msg ?? 'express-rate-limit error'),
  };
}

/**
 * When a request says it came through a proxy but TRUST_PROXY is off, every client shares the
 * proxy's address, and so one rate-limit bucket. Said once per process, with the fix.
 */
function proxyHeaderWarning(ctx: AppContext): (req: Request) => void {
  let warned = ctx.config.server.trustProxy !== false;
  return (req) => {
    if (warned || (req.get('x-forwarded-for') === undefined && req.get('forwarded') === undefined)) return;
    warned = true;
    ctx.logger.warn(
      "requests carry X-Forwarded-For or Forwarded but TRUST_PROXY is off: every client then shares one rate-limit bucket (the proxy's address). Set TRUST_PROXY to the number of proxies in front of xt-connect (e.g. TRUST_PROXY=1), or to their addresses.",
    );
  };
}

/**
 * One fixed-window limiter: `max` requests per `windowMs` per key (the client IP unless `key` says
 * otherwise), counted in the shared store when there is one (prefix `name`).
 */
function limiter(
  ctx: AppContext,
  opts: {
    name: string;
    scope: RateLimitScope;
    max: number;
    windowMs: number;
    key?: (req: Request, res: Response) => string;
  },
): RequestHandler {
  const { windowMs } = opts;
  return rateLimit({
    windowMs,
    limit: opts.max,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: ctx.stores.rateLimitStore?.(opts.name),
    passOnStoreError: true, // a store outage is answered by the session layer, not by locking everyone out
    // We decide which proxies to trust (TRUST_PROXY) and warn about it ourselves, above; the
    // library's trustProxy check (against TRUST_PROXY=true) is the config's: production refuses
    // true at start unless TRUST_PROXY_ALLOW_ANY=true (src/config/core.ts, checkTrustProxy).
    validate: { trustProxy: false, xForwardedForHeader: false, forwardedHeader: false, keyGeneratorIpFallback: false },
    ...(opts.key ? { keyGenerator: opts.key } : {}),
    logger: libraryLogger(ctx.logger),
    handler: (_req, _res, next) => {
      ctx.metrics.rateLimited.inc({ scope: opts.scope });
      next(new AppError('rate_limited', { detail: { windowMs, scope: opts.scope } }));
    },
  });
}

/**
 * The service API's limit: SERVICE_RATE_LIMIT requests per second per key name (so one
 * institution's nightly report cannot starve its other backends), on top of the per-person guard.
 */
export function serviceRateLimit(ctx: AppContext, keyName: (res: Response) => string): RequestHandler {
  return limiter(ctx, {
    name: 'svc',
    scope: 'service',
    max: ctx.config.integration.service?.rateLimitPerSec ?? 100,
    windowMs: 1000,
    key: (_req, res) => keyName(res),
  });
}

export function authRateLimit(ctx: AppContext): RequestHandler {
  const { max, windowMs } = ctx.config.server.authRateLimit;
  const warnAboutProxy = proxyHeaderWarning(ctx);
  const limit = limiter(ctx, { name: 'auth', scope: 'auth', max, windowMs });
  return (req, res, next) => {
    warnAboutProxy(req);
    return limit(req, res, next);
  };
}

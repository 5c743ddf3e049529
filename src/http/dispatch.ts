/**
 * Runs a group of middleware only for paths under a prefix, so a request passes only the
 * middleware its route needs (an /api call skips the page locals, the brand routes and the page
 * routers; a page skips the API's). Matched without regard to case, as Express matches routes.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** The same-origin JSON API (the session state, the XT.COM gateway): its errors are JSON too. */
export const API_PREFIX = '/api';
/** The institution's backend API (bearer service keys): its errors are JSON too. */
export const SERVICE_PREFIX = '/v1';

/** Whether `path` is `prefix` or under it (`/api` matches /api and /API/x, not /apix). */
export function isUnder(path: string, prefix: string): boolean {
  if (path.length < prefix.length) return false;
  if (path.length > prefix.length && path[prefix.length] !== '/') return false;
  return path.slice(0, prefix.length).toLowerCase() === prefix;
}

/**
 * `handlers`, in order, for paths under `prefix` (lower case); other requests go straight on. The
 * group is run as Express's router runs middleware mounted without a path (the request is not
 * changed; an error, thrown, rejected or passed to next, skips the rest of the group and goes on to
 * the app's error handler; `next('route')` goes to the next handler, `next('router')` leaves the
 * group), without a router's per-layer path matching on the busiest requests.
 */
export function under(prefix: string, ...handlers: RequestHandler[]): RequestHandler {
  return function dispatch(req: Request, res: Response, next: NextFunction): void {
    if (!isUnder(req.path, prefix)) return next();
    let i = 0;
    const step = (err?: unknown): void => {
      if (err === 'router') return next();
      if (err && err !== 'route') return next(err);
      const handler = handlers[i++];
      if (!handler) return next();
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.catch((e: unknown) => step(e ?? new Error('rejected')));
      } catch (e) {
        step(e ?? new Error('thrown'));
      }
    };
    step();
  };
}

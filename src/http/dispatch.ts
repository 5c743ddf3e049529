/**
 * Runs a group of middleware only for paths under a prefix, so a request passes only the
 * middleware its route needs (an /api call skips the page locals, the brand routes and the page
 * routers; a page skips the API's). Matched without regard to case, as Express matches routes.
 */
import { type RequestHandler, Router } from 'express';

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

/** `handlers`, in order, for paths under `prefix` (lower case); other requests go straight on. */
export function under(prefix: string, ...handlers: RequestHandler[]): RequestHandler {
  const group = Router();
  group.use(...handlers);
  return function dispatch(req, res, next) {
    if (isUnder(req.path, prefix)) group(req, res, next);
    else next();
  };
}

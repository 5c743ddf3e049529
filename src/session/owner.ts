/**
 * What this app keeps in the express-session record itself: a private owner id, which keys the
 * session's token sets and login transactions in their own records, and the form token.
 */
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';

declare module 'express-session' {
  interface SessionData {
    /** Private id that keys this session's token sets and login transactions. Never sent to the browser. */
    owner?: string;
    /** Form token for state-changing requests. */
    csrf?: string;
  }
}

/** The session's private owner id, created on first need. Never sent to the browser. */
export function ensureOwner(req: Request): string {
  req.session.owner ??= randomBytes(18).toString('base64url');
  return req.session.owner;
}

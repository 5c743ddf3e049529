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
    /**
     * Set when a link bound this session to one of the institution's users: the opaque key
     * (session/subjects.ts) under which that user's connections are kept. Never the raw id.
     */
    subject?: string;
    /** The raw subject behind `subject`, sealed (the session store keeps this record in clear). */
    subjectSeal?: string;
    /**
     * The subject's binding epoch when this session was bound (session/bindings.ts); unset: ''.
     * Once the subject's epoch has moved on (DELETE /v1/subjects/{sub}), the binding is over.
     */
    subjectEpoch?: string;
    /**
     * Set while this session holds nothing but pending logins (no connection, binding or notice):
     * when the last of them expires, ms since the epoch. The session is stored only until then.
     */
    pendingUntil?: number;
    /** When this session's person logged in (or the session got its owner id), ms since the epoch: SESSION_MAX_AGE counts from here. */
    startedAt?: number;
    /** When the browser's cookie was last renewed (see RENEW_FRACTION in middleware.ts); unset: at startedAt. */
    cookieRenewedAt?: number;
    /** A one-time confirmation for the next page (set by auth/, shown once and removed by routes/pages.ts). */
    notice?: Notice;
    /**
     * An RP-initiated logout on its way through the provider (auth/logoutReturn.ts): a hash of the
     * `state` sent, whose return to `/` (once, within 10 minutes) shows the disconnected confirmation.
     */
    logoutReturn?: LogoutReturn;
  }
}

/** What the disconnected confirmation needs once the provider sends the browser back. */
export interface LogoutReturn {
  stateHash: string;
  provider: string;
  revoked: boolean;
  at: number;
}

/**
 * What just happened, said once on the next page: connected; disconnected (`revoked`: the provider
 * was also asked to withdraw the access; `signedOut`: the person was signed out at the provider too);
 * still connected after a stale or replayed callback (`declined`: after the person declined a new
 * approval). `at` (ms) lets an unread notice go stale.
 */
export interface Notice {
  kind: 'connected' | 'disconnected' | 'still-connected';
  provider: string;
  revoked?: boolean;
  signedOut?: boolean;
  declined?: boolean;
  at: number;
}

/** The session's private owner id, created on first need. Never sent to the browser. */
export function ensureOwner(req: Request): string {
  if (req.session.owner === undefined) {
    req.session.owner = randomBytes(18).toString('base64url');
    req.session.startedAt = Date.now();
  }
  return req.session.owner;
}

/**
 * Whose connections this session sees: the subject it is bound to (shared by every browser of
 * that subject), or else its own private owner id. Undefined for a session that has neither.
 */
export function connectionOwner(req: Request): string | undefined {
  return req.session?.subject ?? req.session?.owner;
}

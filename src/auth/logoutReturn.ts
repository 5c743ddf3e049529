/**
 * RP-initiated logout's way back. Disconnect forgets the connection first, then sends the browser
 * to the provider's end_session_endpoint with a fresh `state`; the session keeps only a hash of it.
 * When the provider sends the browser back to `/?state=…`, that state (once, within 10 minutes)
 * turns into the disconnected confirmation. A forged, replayed or unknown state shows nothing
 * special and changes nothing: the pending return stays for the real one.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import { queryString } from '../http/params.js';
import { safeEqual } from '../shared/crypto.js';

export const LOGOUT_RETURN_TTL_MS = 10 * 60_000;

const hash = (state: string) => createHash('sha256').update(state, 'utf8').digest('base64url');

/** A fresh `state` for the provider's logout. */
export const newLogoutState = (): string => randomBytes(32).toString('base64url');

/** Remembers (hashed) the `state` the provider will echo back. The caller saves the session. */
export function expectLogoutReturn(req: Request, state: string, provider: string, revoked: boolean): void {
  req.session.logoutReturn = { stateHash: hash(state), provider, revoked, at: Date.now() };
}

/** At `/`: the provider's return with the pending logout's `state` leaves the disconnected notice for this page. */
export function acceptLogoutReturn(req: Request): void {
  const pending = req.session?.logoutReturn;
  if (!pending) return;
  if (Date.now() - pending.at > LOGOUT_RETURN_TTL_MS) {
    delete req.session.logoutReturn;
    return;
  }
  let state: string | undefined;
  try {
    state = queryString(req, 'state', 512);
  } catch {
    return; // a repeated or garbled state is nobody's return
  }
  if (state === undefined || !safeEqual(hash(state), pending.stateHash)) return;
  delete req.session.logoutReturn;
  req.session.notice = {
    kind: 'disconnected',
    provider: pending.provider,
    revoked: pending.revoked,
    signedOut: true,
    at: Date.now(),
  };
}

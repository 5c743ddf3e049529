/**
 * Popup mode: a login opened by /connect.js from a page on one of EMBED_ORIGINS. The login
 * remembers (in its transaction) the opener's origin and the `state` it chose; at the end the
 * callback shows a tiny page whose script (public/popup-done.js, no inline script) posts
 * `{ type: 'xt-connect', status, provider, state }` to `window.opener` with exactly that origin as
 * targetOrigin, then closes. The message holds nothing secret: no token, no code, no user id.
 *
 * These answers keep the opener's handle on the popup (`Cross-Origin-Opener-Policy: unsafe-none`):
 * helmet's `same-origin` would put the popup in a browsing context group of its own, and the page
 * would see it as closed at once. Every other answer keeps `same-origin`.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { queryString } from '../http/params.js';

export const popupSchema = z.object({ origin: z.string().max(256), state: z.string().max(64) });
export type PopupOpener = z.infer<typeof popupSchema>;

const OPENER_STATE = /^[A-Za-z0-9_-]{1,64}$/;

/** `?popup=1&origin=…&state=…&link=…`: the opener, when its origin is listed in EMBED_ORIGINS and a link comes with it; else 400. */
export function readPopup(ctx: AppContext, req: Request): PopupOpener | undefined {
  if (queryString(req, 'popup', 8) !== '1') return undefined;
  const origin = queryString(req, 'origin', 256);
  const state = queryString(req, 'state', 64);
  if (origin === undefined || !ctx.config.integration.embedOrigins.includes(origin))
    throw new AppError('bad_request', { detail: { reason: 'popup origin not in EMBED_ORIGINS' } });
  if (state === undefined || !OPENER_STATE.test(state))
    throw new AppError('bad_request', { detail: { reason: 'bad popup state' } });
  // Only the institution's own link opens a popup login: no page can borrow a listed origin to keep
  // a handle on a window of ours (see keepOpener) without a link its backend minted.
  if (queryString(req, 'link', 4096) === undefined)
    throw new AppError('bad_request', { detail: { reason: 'popup without a link' } });
  return { origin, state };
}

/** Keeps the opener's handle on this window (see the top of this file). */
export function keepOpener(res: Response): void {
  res.set('Cross-Origin-Opener-Policy', 'unsafe-none');
}

export type PopupStatus = 'connected' | 'declined' | 'error';

/** The page that reports the outcome to the opener and closes. `error` is an error code, never a detail. */
export function renderPopupDone(
  res: Response,
  popup: PopupOpener,
  provider: { id: string; label: string },
  status: PopupStatus,
  error?: string,
): void {
  keepOpener(res);
  res.status(200).render('popup-done.njk', { popup, provider, status, error });
}

/**
 * Popup mode: a login opened by /connect.js from a page on one of EMBED_ORIGINS. The login
 * remembers (in its transaction) the opener's origin and the `state` it chose; at the end the
 * callback shows a tiny page whose script (public/popup-done.js, no inline script) posts
 * `{ type: 'xt-connect', status, provider, state }` to `window.opener` with exactly that origin as
 * targetOrigin, then closes. The message holds nothing secret: no token, no code, no user id.
 *
 * These answers keep the opener's handle on the popup (`Cross-Origin-Opener-Policy: unsafe-none`):
 * helmet's `same-origin` would put the popup in a browsing context group of its own, and the page
 * would see it as closed at once. A popup login that fails with a genuine link (expired, spent, or
 * refused later) reports too, from its error page (reportFailedPopupLogin). Every other answer keeps
 * `same-origin`.
 */
import type { ErrorRequestHandler, Request, Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import type { PopupReport } from '../http/errorHandler.js';
import { queryString } from '../http/params.js';
import { isGenuineLink } from './link.js';

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

/**
 * A popup login that failed before its transaction (the /auth rate limit, the provider down, the
 * link refused: expired, spent, minted before its subject was ended, or any failure after it was
 * accepted) still tells its opener, with `status: 'error'` and the error's code, when the request
 * names a listed origin, a good state and a GENUINE link (signed under LINK_SECRET for our origin,
 * whatever its claims say). The error page then carries the popup's data and script (the person
 * sees the message and a way forward if the opener is gone), sent with COOP `unsafe-none`. A forged
 * link, or none, keeps `same-origin` and no report: no page can borrow a listed origin to hold a
 * handle on our window, or to learn anything, without a link the institution minted.
 */
export function reportFailedPopupLogin(ctx: AppContext): ErrorRequestHandler {
  return function failedPopupLogin(err, req, res, next) {
    void popupToReport(ctx, req)
      .then((report) => {
        if (report) {
          keepOpener(res);
          (res.locals as { popupReport?: PopupReport }).popupReport = report;
        } else res.set('Cross-Origin-Opener-Policy', 'same-origin');
      })
      .catch(() => undefined)
      .finally(() => next(err));
  };
}

async function popupToReport(ctx: AppContext, req: Request): Promise<PopupReport | undefined> {
  const provider = ctx.providers.get(String(req.params.provider));
  if (req.method !== 'GET' || !provider) return undefined;
  let popup: PopupOpener | undefined;
  let token: string | undefined;
  try {
    popup = readPopup(ctx, req);
    token = queryString(req, 'link', 4096);
  } catch {
    return undefined;
  }
  if (!popup || token === undefined || !(await isGenuineLink(ctx, token))) return undefined;
  return { ...popup, provider: provider.id };
}

/**
 * Login, callback and logout for any provider. Each step is a named function; the handlers
 * only put the steps in order.
 */
import type { NextFunction, Request, Response } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { languagePreference, pickProviderLanguage } from '../i18n/index.js';
import { queryString } from '../http/params.js';
import { safeReturnTo } from '../http/returnTo.js';
import type { Provider } from '../providers/types.js';
import type { TokenResponse } from '../shared/tokens.js';
import { expireWithPendingLogins, regenerateSession, saveSession } from '../session/middleware.js';
import { connectionOwner } from '../session/owner.js';
import { refuseProviderError } from './callbackError.js';
import { type Link, acceptLink } from './link.js';
import { expectLogoutReturn, newLogoutState } from './logoutReturn.js';
import { type PopupOpener, keepOpener, readPopup, renderPopupDone } from './popup.js';
import { storeConnection } from './storeConnection.js';
import { type LoginTransaction, TRANSACTION_TTL_MS, beginTransaction, consumeTransaction } from './transaction.js';

export const callbackPath = (provider: string) => `/auth/${provider}/callback`;

function redirectUri(ctx: AppContext, provider: Provider): string {
  // Built from PUBLIC_URL only: never from Host or X-Forwarded-* headers.
  return new URL(callbackPath(provider.id), ctx.config.server.publicUrl).toString();
}

type Handler = (req: Request, res: Response, next: NextFunction) => Promise<void>;

export async function usableProvider(ctx: AppContext, req: Request): Promise<Provider> {
  const provider = ctx.providers.get(String(req.params.provider));
  if (!provider) throw new AppError('not_found');
  // checkAvailability() also prompts a retry (OIDC discovery); wait for it so the first attempt after a recovery works.
  if (!provider.checkAvailability() && !(await provider.whenReady?.())) {
    throw new AppError('provider_down', { provider: provider.id });
  }
  return provider;
}

// ---------- login ----------

/** A linked subject that is connected already needs no trip to the provider. */
async function alreadyConnected(ctx: AppContext, link: Link | undefined, provider: Provider): Promise<boolean> {
  if (!link) return false;
  try {
    return (await ctx.connections.view(link.key, provider.id)).connected;
  } catch {
    return false; // the provider is away: a new login is the way forward
  }
}

export function login(ctx: AppContext): Handler {
  return async function startLogin(req, res) {
    const provider = await usableProvider(ctx, req);
    const asked = queryString(req, 'returnTo', 512); // a bad request fails here, before a link is spent
    const popup = readPopup(ctx, req); // so does a popup for an origin not in EMBED_ORIGINS
    const link = await acceptLink(ctx, req, provider.id); // before any transaction or redirect
    if (popup && link) keepOpener(res); // a verified link's pages stay reachable from the opener
    const returnTo = link?.returnTo ?? safeReturnTo(asked, undefined, ctx.config.integration.embedOrigins);
    // A reconnect link always goes to the provider: its point is new tokens for the same connection.
    if (link && !link.reconnect && (await alreadyConnected(ctx, link, provider))) {
      await saveSession(req);
      // The only trace of a browser given a subject's connection without XT.COM (a new login writes login_started).
      if (link.fromToken) ctx.audit.write('link_used', { provider: provider.id, owner: link.key, connected: true });
      if (popup) renderPopupDone(res, popup, provider, 'connected');
      else res.redirect(303, returnTo);
      return;
    }
    await sendToProvider(ctx, req, res, provider, { returnTo, link, popup, reconnect: link?.reconnect === true });
  };
}

/** Begins the login transaction and sends the browser to the provider (a login, or a reconnect: see reconnect.ts). */
export async function sendToProvider(
  ctx: AppContext,
  req: Request,
  res: Response,
  provider: Provider,
  how: { returnTo: string; link?: Link; popup?: PopupOpener; reconnect: boolean },
): Promise<void> {
  const { returnTo, link, popup, reconnect } = how;
  expireWithPendingLogins(req, TRANSACTION_TTL_MS); // a session with nothing else is kept only while its logins are
  const extras = await provider.prepareLogin();
  const tx = await beginTransaction(ctx, req, provider.id, returnTo, extras, link, popup, reconnect);
  const url = await provider.authorizeUrl({
    state: tx.state,
    redirectUri: redirectUri(ctx, provider),
    lang: pickProviderLanguage(
      languagePreference(req.headers.cookie, req.get('accept-language')),
      provider.languages ?? ['en'],
    ),
    extras: tx.extras,
  });
  await saveSession(req); // the owner id must be stored before the person comes back
  ctx.audit.write('login_started', {
    provider: provider.id,
    owner: link?.key ?? req.session.owner,
    ...(reconnect ? { reconnect: true } : {}),
  });
  // 303: the Reconnect button's POST must become a GET at the provider.
  res.redirect(reconnect && req.method === 'POST' ? 303 : 302, url.toString());
}

// ---------- callback ----------

interface CallbackParams {
  code?: string;
  state?: string;
  error?: string;
}

function readCallbackParams(req: Request): CallbackParams {
  return {
    code: queryString(req, 'code', 4096),
    state: queryString(req, 'state', 512),
    error: queryString(req, 'error', 256),
  };
}

async function exchange(
  ctx: AppContext,
  req: Request,
  provider: Provider,
  tx: LoginTransaction,
  code: string,
): Promise<TokenResponse> {
  return provider.exchangeCode({
    code,
    redirectUri: redirectUri(ctx, provider),
    extras: tx.extras,
    callbackUrl: new URL(req.originalUrl, ctx.config.server.publicUrl),
    state: tx.state,
  });
}

/** A login's end, counted (xtc_logins_total) and written to the audit log with its reason. */
function recordLogin(ctx: AppContext, req: Request, provider: string, err?: unknown): void {
  const owner = connectionOwner(req);
  if (err === undefined) {
    ctx.metrics.logins.inc({ provider, outcome: 'ok' });
    ctx.audit.write('login_succeeded', { provider, owner });
    return;
  }
  const code = err instanceof AppError ? err.code : 'internal';
  ctx.metrics.logins.inc({ provider, outcome: code === 'login_denied' ? 'declined' : 'failed' });
  ctx.audit.write('login_failed', { provider, owner, reason: code });
}

export function callback(ctx: AppContext): Handler {
  return async function finishLogin(req, res) {
    res.set({ 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' }); // the URL carries the code
    const known = ctx.providers.get(String(req.params.provider));
    let provider: Provider;
    try {
      provider = await usableProvider(ctx, req);
    } catch (err) {
      if (known) recordLogin(ctx, req, known.id, err); // a provider that is down fails the login too
      throw err;
    }
    let tx: LoginTransaction | undefined;
    try {
      const params = readCallbackParams(req);
      tx = await consumeTransaction(ctx, req, provider.id, params.state); // before any token call
      if (params.error !== undefined) refuseProviderError(ctx, provider, params);
      if (!params.code)
        throw new AppError('callback_invalid', { provider: provider.id, detail: { reason: 'no code' } });
      const tokens = await exchange(ctx, req, provider, tx, params.code);
      await storeConnection(ctx, req, provider, tx, tokens);
      recordLogin(ctx, req, provider.id);
      ctx.logger.info({ provider: provider.id }, 'connected');
      if (tx.popup) renderPopupDone(res, tx.popup, provider, 'connected');
      else res.redirect(303, tx.returnTo);
    } catch (err) {
      recordLogin(ctx, req, provider.id, err);
      await answerFailedLogin(ctx, req, res, provider, err, tx);
    }
  };
}

/**
 * A login that did not connect: in popup mode the opener is told (declined, or the error's code);
 * else a decline is a neutral page, a decline or replay while connected goes to the account page,
 * and anything else is thrown to the error page.
 */
async function answerFailedLogin(
  ctx: AppContext,
  req: Request,
  res: Response,
  provider: Provider,
  err: unknown,
  tx: LoginTransaction | undefined,
): Promise<void> {
  const code = err instanceof AppError ? err.code : undefined;
  if (tx?.popup) {
    if (code === 'login_denied') renderPopupDone(res, tx.popup, provider, 'declined');
    else renderPopupDone(res, tx.popup, provider, 'error', code ?? 'internal');
    return;
  }
  // Back to the provider's page and Authorize (or Deny) again, or a replayed callback, while
  // connected: nothing changed, and the person is told they are still connected.
  if ((code === 'login_denied' || code === 'login_expired') && (await isConnected(ctx, req, provider))) {
    req.session.notice = {
      kind: 'still-connected',
      provider: provider.id,
      declined: code === 'login_denied',
      at: Date.now(),
    };
    await saveSession(req);
    res.redirect(303, '/account');
    return;
  }
  // The person chose not to connect: nothing went wrong, so a neutral page (200), not an error.
  if (code === 'login_denied') {
    res.status(200).render('declined.njk', { provider: { id: provider.id, label: provider.label } });
    return;
  }
  throw err;
}

/** Whether this session (or its subject) holds a usable connection to `provider`. */
async function isConnected(ctx: AppContext, req: Request, provider: Provider): Promise<boolean> {
  const owner = connectionOwner(req);
  if (!owner) return false;
  try {
    return (await ctx.connections.view(owner, provider.id)).connected;
  } catch {
    return false;
  }
}

// ---------- logout ----------

/**
 * Disconnect: local first (the tokens are forgotten, and revoked where the provider can, before the
 * browser goes anywhere), then the provider's logout when it has one (OIDC_PROVIDER_LOGOUT): the
 * standard end_session_endpoint, whose return with our `state` shows the confirmation (see
 * logoutReturn.ts), or a provider's own logout page; else straight home.
 */
export function logout(ctx: AppContext): Handler {
  return async function disconnect(req, res) {
    const provider = ctx.providers.get(String(req.params.provider));
    if (!provider) throw new AppError('not_found');
    const owner = connectionOwner(req);
    const forgotten = owner ? await ctx.connections.disconnect(owner, provider.id) : null;
    // A new id after any change of who is connected. Disconnecting also ends a link's binding: on
    // a shared device, the next person must not see the subject's next connection.
    await regenerateSession(req, { subject: null });
    // Said once on the next page: what was removed, and whether the provider did revoke it too
    // (never claimed when its revocation failed, nor when there was nothing to remove).
    const revoked = forgotten?.revoked === true;
    const state = newLogoutState();
    const out = provider.logout?.({
      postLogoutRedirect: new URL('/', ctx.config.server.publicUrl).toString(),
      state,
      idToken: forgotten?.record.idToken,
      lang: pickProviderLanguage(
        languagePreference(req.headers.cookie, req.get('accept-language')),
        provider.languages ?? ['en'],
      ),
    });
    // Through the end_session_endpoint, the confirmation waits for the provider to send the browser back with `state`.
    if (forgotten && out?.returnsState) expectLogoutReturn(req, state, provider.id, revoked);
    else if (forgotten) req.session.notice = { kind: 'disconnected', provider: provider.id, revoked, at: Date.now() };
    await saveSession(req);
    ctx.logger.info(
      { provider: provider.id, providerLogout: out ? (out.returnsState ? 'end_session' : 'logout_page') : 'none' },
      'disconnected',
    );
    res.redirect(303, out?.url.toString() ?? '/');
  };
}

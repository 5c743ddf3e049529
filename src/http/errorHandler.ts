/**
 * The one place failures are rendered: a page in the person's language with a way forward,
 * JSON under /api (the same words, and `next`), or JSON for programs under /v1 (a stable code and
 * a short technical message: api/openapi.yaml's ServiceError). Stack traces are logged, never shown.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../context.js';
import { AppError, type ErrorCode, messageKey, serviceStatus, summaryOf, toAppError } from '../errors.js';
import type { AuditEvent } from '../shared/audit.js';
import type { Translate } from '../i18n/index.js';
import { API_PREFIX, SERVICE_PREFIX, isUnder } from './dispatch.js';
import { safeReturnTo } from './returnTo.js';

/**
 * A failed popup login that may tell its opener (auth/popup.ts decides, and sets it in
 * `res.locals.popupReport`): the error page then carries the popup-done data and script.
 */
export interface PopupReport {
  origin: string;
  state: string;
  provider: string;
}

/** Where "try again" / "reconnect" leads: a fresh login for auth trouble, the same page for a GET elsewhere. */
function retryTarget(e: AppError, req: Request): string | undefined {
  const inAuth = req.path.startsWith('/auth/');
  if (e.provider && (e.next === 'login' || e.next === 'reconnect' || (e.next === 'retry' && inAuth)))
    return `/auth/${e.provider}/login`;
  if (e.next === 'retry') return req.method === 'GET' && !inAuth ? safeReturnTo(req.originalUrl, '/') : '/';
  return undefined;
}

/** Refusals that are security events, and the audit event each one is. */
const AUDITED: Partial<Record<ErrorCode, AuditEvent>> = {
  csrf_failed: 'csrf_refused',
  rate_limited: 'rate_limited',
  link_invalid: 'link_refused',
  link_expired: 'link_refused',
  link_required: 'link_refused',
  scope_missing: 'scope_refused',
};

/**
 * The /v1 error body, for the institution's backend: the code, its summary from the error table,
 * the request id, and what applies of `retryAfter` (the answer's Retry-After, in seconds),
 * `provider` and `scope` (the one a scope_missing call lacked). Never the person's language.
 */
function serviceErrorBody(e: AppError, requestId: string, res: Response) {
  const wait = Number(res.get('Retry-After'));
  const scope = e.detail.scope;
  return {
    error: {
      code: e.code,
      message: summaryOf(e.code),
      requestId,
      ...(Number.isInteger(wait) && wait > 0 ? { retryAfter: wait } : {}),
      ...(e.provider ? { provider: e.provider } : {}),
      ...(e.code === 'scope_missing' && typeof scope === 'string' ? { scope } : {}),
    },
  };
}

export function notFound(): RequestHandler {
  return (_req, _res, next) => next(new AppError('not_found'));
}

/**
 * `pageLocals` sets the person's language and the brand, which the message and the error page
 * read; it runs here for a failure that happened before it did (the /api group, a static file).
 * A /v1 answer (with the service API on) needs neither: its words are the same for every caller.
 */
export function errorHandler(ctx: AppContext, pageLocals: RequestHandler): ErrorRequestHandler {
  return function renderError(err, req, res, _next) {
    const e = toAppError(err);
    const reqId = typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : '';
    const forService = isUnder(req.path, SERVICE_PREFIX) && ctx.config.integration.service !== undefined;
    const status = forService ? serviceStatus(e.code) : e.status;
    const serviceKey = (res.locals as { serviceKey?: string }).serviceKey;
    if (e.code === 'internal') ctx.logger.error({ err, reqId, serviceKey }, 'unexpected error');
    else
      ctx.logger.warn(
        { code: e.code, status, provider: e.provider, detail: e.detail, reqId, serviceKey },
        'request failed',
      );
    const event = AUDITED[e.code];
    const reason =
      typeof e.detail.reason === 'string'
        ? e.detail.reason
        : typeof e.detail.scope === 'string'
          ? e.detail.scope
          : e.code;
    if (event)
      ctx.audit.write(event, {
        provider: e.provider,
        owner: req.session?.subject ?? req.session?.owner,
        reason,
        serviceKey,
      });

    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).set('Cache-Control', 'no-store');
    const retryAfter = e.retryAfterSec;
    if (retryAfter !== undefined && !res.get('Retry-After')) res.set('Retry-After', String(retryAfter));
    if (forService) {
      res.json(serviceErrorBody(e, reqId, res));
      return;
    }

    const label = (e.provider && ctx.providers.get(e.provider)?.label) || e.provider || 'the provider';
    if (res.locals.t === undefined) pageLocals(req, res, () => undefined);
    const t = res.locals.t as Translate;
    const message = t(messageKey(e.code), { provider: label });
    if (isUnder(req.path, API_PREFIX)) {
      res.json({ error: { code: e.code, message, next: e.next, provider: e.provider, requestId: reqId } });
      return;
    }
    const retryHref = retryTarget(e, req);
    const popup = (res.locals as { popupReport?: PopupReport }).popupReport;
    res.render('error.njk', { error: e, message, reqId, retryHref, popup }, (renderErr: unknown, html?: string) => {
      if (renderErr || html === undefined) {
        ctx.logger.error({ err: renderErr }, 'error page failed to render');
        res.type('text/plain').send(message);
        return;
      }
      res.send(html);
    });
  };
}

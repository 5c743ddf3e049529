/**
 * The one place failures are rendered: a page in the person's language with a way forward,
 * or JSON under /api. Stack traces are logged, never shown.
 */
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { AppError, type ErrorCode, messageKey, serviceStatus, toAppError } from '../errors.js';
import type { AuditEvent } from '../shared/audit.js';
import type { Translate } from '../i18n/index.js';
import { API_PREFIX, SERVICE_PREFIX, isUnder } from './dispatch.js';
import { safeReturnTo } from './returnTo.js';

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
};

export function notFound(): RequestHandler {
  return (_req, _res, next) => next(new AppError('not_found'));
}

/**
 * `pageLocals` sets the person's language and the brand, which the message and the error page
 * read; it runs here for a failure that happened before it did (the /api and /v1 groups, a
 * static file).
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
    const label = (e.provider && ctx.providers.get(e.provider)?.label) || e.provider || 'the provider';
    if (res.locals.t === undefined) pageLocals(req, res, () => undefined);
    const t = res.locals.t as Translate;
    const message = t(messageKey(e.code), { provider: label });
    res.status(status).set('Cache-Control', 'no-store');
    const retryAfter = e.retryAfterSec;
    if (retryAfter !== undefined && !res.get('Retry-After')) res.set('Retry-After', String(retryAfter));

    if (isUnder(req.path, API_PREFIX) || forService) {
      res.json({ error: { code: e.code, message, next: e.next, provider: e.provider, requestId: reqId } });
      return;
    }
    const retryHref = retryTarget(e, req);
    res.render('error.njk', { error: e, message, reqId, retryHref }, (renderErr: unknown, html?: string) => {
      if (renderErr || html === undefined) {
        ctx.logger.error({ err: renderErr }, 'error page failed to render');
        res.type('text/plain').send(message);
        return;
      }
      res.send(html);
    });
  };
}

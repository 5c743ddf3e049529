/**
 * The service API, for the institution's own backend (SERVICE_API_KEYS). Mounted before the
 * session middleware: it reads no cookie and sets none, and a request with only a session cookie
 * is a 401. Every answer is JSON with Cache-Control: no-store, and never holds a token.
 *
 *   GET    /v1/connections                            the subjects' connections, a page at a time (serviceList.ts)
 *   GET    /v1/webhooks/deliveries                    the webhook delivery log, a page at a time (serviceWebhooks.ts)
 *   POST   /v1/webhooks/replay                        kept webhook events back in the queue (serviceReplay.ts)
 *   GET    /v1/subjects/{sub}/connections             the subject's connection to each provider
 *   DELETE /v1/subjects/{sub}/connections/{provider}  disconnect (revoking at the provider), 204, idempotent;
 *                                                     the subject's browser bindings stay
 *   DELETE /v1/subjects/{sub}                          end the subject: every connection (as above) and
 *                                                     every browser binding to it, 204, idempotent
 *   GET|POST|DELETE /v1/subjects/{sub}/xt/{path}      XT.COM for that person, like /api/xt but with
 *                                                     SERVICE_XT_API_ALLOW and no CSRF token
 *
 * Steps: the bearer key (constant-time, 401 with WWW-Authenticate), the key's rate limit
 * (SERVICE_RATE_LIMIT per second per key name), the route's scope (403 scope_missing: see
 * serviceScope.ts), the subject (400 when malformed), then the route.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { type NextFunction, type Request, type Response, Router } from 'express';
import type { ServiceKey } from '../config/integration.js';
import type { AppContext } from '../context.js';
import { AppError, badRequest } from '../errors.js';
import { SERVICE_PREFIX } from '../http/dispatch.js';
import { notFound } from '../http/errorHandler.js';
import { targetPath } from '../logger.js';
import { serviceRateLimit } from '../http/rateLimit.js';
import { endSubject, endSubjectConnection, type SubjectDeps, subjectConnections } from '../session/subjectAccount.js';
import { isSubject } from '../session/subjects.js';
import { requestInfo } from '../shared/requestContext.js';
import { requireScope, requireXtScope, serviceLocals } from './serviceScope.js';
import { listConnectionsRoute } from './serviceList.js';
import { listDeliveriesRoute } from './serviceWebhooks.js';
import { replayRoute } from './serviceReplay.js';
import { xtCallSteps } from './xt/gateway.js';

export { requireScope, serviceLocals } from './serviceScope.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Bearer authentication. Every configured key is compared, in constant time and without stopping
 * at a match, against a digest of the presented one (digests have one length, so neither the
 * length nor the position of a key leaks through timing).
 */
function authenticate(keys: readonly ServiceKey[]) {
  const known = keys.map((k) => ({ name: k.name, scopes: k.scopes, digest: digest(k.key) }));
  return function bearerKey(req: Request, res: Response, next: NextFunction): void {
    const m = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(req.get('authorization') ?? '');
    let found: (typeof known)[number] | undefined;
    if (m) {
      const given = digest(m[1]!);
      for (const k of known) if (timingSafeEqual(k.digest, given) && found === undefined) found = k;
    }
    if (found === undefined) {
      res.set('WWW-Authenticate', m ? 'Bearer realm="xt-connect", error="invalid_token"' : 'Bearer realm="xt-connect"');
      return next(new AppError('unauthorized', { detail: { reason: m ? 'unknown key' : 'no bearer key' } }));
    }
    serviceLocals(res).serviceKey = found.name;
    serviceLocals(res).serviceScopes = found.scopes;
    next();
  };
}

/** The `{sub}` segment, percent-decoded once, checked against the subject rules. */
function subjectParam(req: Request, res: Response, next: NextFunction): void {
  const sub = String(req.params.sub ?? '');
  if (!isSubject(sub)) return next(badRequest('subject must be 1 to 128 characters of letters, digits and . _ : @ -'));
  serviceLocals(res).subject = sub;
  next();
}

const subjectOf = (res: Response) => serviceLocals(res).subject!;
/** The owner key of the subject's records: the newest SUBJECT_KEYS key's, or where a rotation has them now. */
const ownerOfSubject = (ctx: AppContext, res: Response) =>
  serviceLocals(res).owner ?? ctx.subjects.ownerOf(subjectOf(res));

/**
 * After subjectParam, for the XT.COM calls: while SUBJECT_KEYS rotates, the subject's records stored
 * under an older key move to the newest first (session/subjectMoves.ts), so the gateway finds them
 * with ownerOfSubject(). (The connection routes resolve the same way in session/subjectAccount.ts.)
 */
function movedSubject(ctx: AppContext) {
  return function moveSubjectRecords(_req: Request, res: Response, next: NextFunction): void {
    if (!ctx.subjectMoves.rotating) return next();
    ctx.subjectMoves.resolve(subjectOf(res)).then(
      (owner) => {
        serviceLocals(res).owner = owner;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

// subjectMoves: the subject's records move to the newest SUBJECT_KEYS key first (subjectAccount.ts).
const subjectDeps = (ctx: AppContext): SubjectDeps => ({ ...ctx, providerIds: () => ctx.providers.keys() });

function connectionsOf(ctx: AppContext) {
  return async function subjectConnectionsRoute(_req: Request, res: Response): Promise<void> {
    res.json(await subjectConnections(subjectDeps(ctx), subjectOf(res)));
  };
}

function disconnectSubject(ctx: AppContext) {
  return async function revokeByService(req: Request, res: Response): Promise<void> {
    const provider = ctx.providers.get(String(req.params.provider));
    if (!provider) throw new AppError('not_found');
    await endSubjectConnection(subjectDeps(ctx), subjectOf(res), provider.id);
    ctx.logger.info({ provider: provider.id, reqId: req.id }, 'disconnected by the service API');
    res.status(204).end();
  };
}

/** Ends the subject (offboarding: session/subjectAccount.ts endSubject): its browser bindings, then each connection. */
function endSubjectRoute(ctx: AppContext) {
  return async function offboardSubject(req: Request, res: Response): Promise<void> {
    await endSubject(subjectDeps(ctx), subjectOf(res));
    ctx.logger.info({ reqId: req.id }, 'subject ended by the service API');
    res.status(204).end();
  };
}

/** The raw target after /v1/subjects/{sub}/xt, as sent (the gateway's path rules apply to it). */
function serviceXtTarget(req: Request): string | undefined {
  const m = /^\/v1\/subjects\/[^/?#]+\/xt(\/[^?#]*(?:\?.*)?)$/i.exec(req.originalUrl);
  return m?.[1];
}

/** What a call did, as a route pattern (never the subject or the XT.COM path). */
function routeOf(req: Request): string {
  if (/^\/v1\/connections(?=[?#]|$)/i.test(targetPath(req.originalUrl))) return 'connections';
  if (/^\/v1\/webhooks\/deliveries(?=[?#]|$)/i.test(targetPath(req.originalUrl))) return 'webhook_deliveries';
  const m = /^\/v1\/subjects\/[^/?#]+(?:\/(connections\/[^/?#]+|connections|xt))?(?=[/?#]|$)/i.exec(
    targetPath(req.originalUrl),
  );
  if (!m) return 'other';
  if (m[1] === undefined) return 'subject';
  const what = m[1].toLowerCase();
  return what === 'xt' ? 'subject_xt' : what === 'connections' ? 'subject_connections' : 'subject_connection';
}

/** One audit line per service API call, when its answer is sent: the key's name, the route pattern, the status. */
function auditCall(ctx: AppContext) {
  return function auditServiceCall(req: Request, res: Response, next: NextFunction): void {
    const info = requestInfo.getStore(); // 'finish' may fire outside the request's async context
    res.once('finish', () => {
      const { serviceKey, subject } = serviceLocals(res);
      const write = () =>
        ctx.audit.write('service_call', {
          serviceKey,
          method: req.method.slice(0, 8),
          route: routeOf(req),
          status: res.statusCode,
          owner: subject === undefined ? undefined : ctx.subjects.ownerOf(subject),
        });
      if (info) requestInfo.run(info, write);
      else write();
    });
    next();
  };
}

export function serviceRouter(ctx: AppContext): Router {
  const r = Router();
  const service = ctx.config.integration.service;
  if (!service) return r;
  r.use(SERVICE_PREFIX, function noStore(_req, res, next) {
    res.set('Cache-Control', 'no-store');
    next();
  });
  r.use(SERVICE_PREFIX, auditCall(ctx));
  r.use(
    SERVICE_PREFIX,
    authenticate(service.keys),
    serviceRateLimit(ctx, (res) => serviceLocals(res).serviceKey ?? ''),
  );
  const moved = movedSubject(ctx);
  r.get('/v1/connections', requireScope('read'), listConnectionsRoute(ctx));
  r.get('/v1/webhooks/deliveries', requireScope('webhooks'), listDeliveriesRoute(ctx));
  r.post('/v1/webhooks/replay', requireScope('webhooks.replay'), ...replayRoute(ctx));
  r.get('/v1/subjects/:sub/connections', requireScope('read'), subjectParam, connectionsOf(ctx));
  r.delete('/v1/subjects/:sub/connections/:provider', requireScope('disconnect'), subjectParam, disconnectSubject(ctx));
  r.delete('/v1/subjects/:sub', requireScope('disconnect'), subjectParam, endSubjectRoute(ctx));
  r.use(
    '/v1/subjects/:sub/xt',
    requireXtScope(serviceXtTarget),
    subjectParam,
    moved,
    ...xtCallSteps(ctx, {
      targetOf: serviceXtTarget,
      allow: service.allow,
      apiKeyCreation: service.allowApiKeyCreation,
      apiKeyRecipient: service.apiKeyRecipient,
      crossSiteCheck: false,
      ownerOf: (_req, res) => ownerOfSubject(ctx, res),
      callerClass: 'service', // the slice of the XT.COM budget kept for the institution (XT_API_SERVICE_SHARE)
      route: '/v1/subjects/{sub}/xt',
    }),
  );
  r.use(SERVICE_PREFIX, notFound()); // nothing under /v1 reaches the session middleware
  return r;
}

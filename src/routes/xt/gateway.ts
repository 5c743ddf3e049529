/**
 * /api/xt/*: the site's own pages call XT.COM's user APIs through us, for the person whose session
 * cookie came with the request (the backend-for-frontend pattern: the browser never holds a token).
 * `GET /api/xt/spot/v4/balances?currencies=usdt,btc` is sent, signed, as
 * `GET {XT_API_URL}/spot/v4/balances?currencies=usdt,btc`.
 *
 * Each request goes through these steps, in order; the first that refuses answers:
 *   1. the method: GET, POST or DELETE, else 405;
 *   2. the path and query (target.ts), else 400, before the allow-list is consulted;
 *   3. the allow-list (XT_API_ALLOW; never /user/account/api-key), else 403 not_allowed;
 *   4. POST and DELETE: the X-CSRF-Token header and the Origin, else 403 csrf_failed;
 *   5. the body: JSON only (415), at most 16 kB (413), well-formed (400);
 *   6. the call, through XtApi and its guard: XT.COM's own answer when it is one (rc 0, or rc 1
 *      with a business mc), with its status; everything else is one of our error codes (401, 429,
 *      502, 503, 504), rendered as JSON by the error handler. The api-key path (the service API
 *      only) needs a recipient, and its answer leaves with the secret sealed to it (apiKeySeal.ts).
 * Every answer carries Cache-Control: no-store (set for everything past the static files).
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { ApiKeyRecipient } from '../../config/apiKeyRecipient.js';
import type { AppContext } from '../../context.js';
import { AppError, badRequest } from '../../errors.js';
import { requireCsrf } from '../../http/csrf.js';
import { parseXtTarget, type XtTarget } from './target.js';
import type { XtCall } from '../../services/xtApi.js';
import type { XtCallerClass } from '../../services/xtGuard.js';
import { sealApiKeyAnswer } from '../../shared/apiKeySeal.js';
import { type AllowEntry, allowedBy, entryPattern, isNeverAllowed, type XtMethod, XT_METHODS } from './allowList.js';
import { SPAN_ROUTE } from '../../http/tracing.js';
import { connectionOwner } from '../../session/owner.js';

export const XT_GATEWAY_PREFIX = '/api/xt';
export const MAX_BODY_BYTES = 16 * 1024;

interface GatewayLocals {
  xtMethod: XtMethod;
  xtTarget: XtTarget;
  /** The allow-list pattern that matched (`/spot/v4/order/*`): what traces name instead of the path. */
  xtTemplate: string;
}

const locals = (res: Response) => res.locals as GatewayLocals;

function checkMethod(req: Request, res: Response, next: NextFunction): void {
  if (!(XT_METHODS as readonly string[]).includes(req.method)) {
    res.set('Allow', XT_METHODS.join(', '));
    return next(new AppError('method_not_allowed', { provider: 'xt', detail: { method: req.method.slice(0, 16) } }));
  }
  locals(res).xtMethod = req.method as XtMethod;
  next();
}

/** The raw request target after the prefix, as the client sent it (never Express's decoded views of it). */
function checkTarget(targetOf: (req: Request) => string | undefined) {
  return function plainTarget(req: Request, res: Response, next: NextFunction): void {
    const raw = targetOf(req);
    if (raw === undefined) return next(badRequest('request target must be a path'));
    locals(res).xtTarget = parseXtTarget(raw);
    next();
  };
}

/** The target after /api/xt. */
function gatewayTarget(req: Request): string | undefined {
  const raw = req.originalUrl;
  return raw.toLowerCase().startsWith(`${XT_GATEWAY_PREFIX}/`) ? raw.slice(XT_GATEWAY_PREFIX.length) : undefined;
}

function checkAllowList(allow: readonly AllowEntry[], apiKeyCreation: boolean, route: string) {
  return function allowListed(_req: Request, res: Response, next: NextFunction): void {
    const { xtMethod, xtTarget } = locals(res);
    const entry = allowedBy(allow, xtMethod, xtTarget.path, apiKeyCreation);
    if (!entry) {
      return next(new AppError('not_allowed', { provider: 'xt', detail: { method: xtMethod, path: xtTarget.path } }));
    }
    locals(res).xtTemplate = entryPattern(entry);
    // The server span's route: the caller's mount as a template (never the subject) and the pattern.
    (res.locals as Record<string, unknown>)[SPAN_ROUTE] = `${route}${locals(res).xtTemplate}`;
    next();
  };
}

function checkCrossSite(ctx: AppContext) {
  const csrf = requireCsrf(ctx.config.server.publicUrl.origin, 'header', () => 'xt');
  return function crossSite(req: Request, res: Response, next: NextFunction): void {
    if (locals(res).xtMethod === 'GET') return next();
    csrf(req, res, next);
  };
}

/** No cross-site check: the caller is a backend with a bearer key, not a browser with a cookie. */
function noCrossSiteCheck(_req: Request, _res: Response, next: NextFunction): void {
  next();
}

/** JSON only, read as raw bytes (never inflated), so the bytes that are sent and signed are the ones checked. */
function checkBodyType(req: Request, res: Response, next: NextFunction): void {
  if (locals(res).xtMethod === 'GET' || !hasBody(req)) return next();
  const type = req.get('content-type') ?? '';
  if (!/^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i.test(type.trim())) {
    return next(
      new AppError('unsupported_media_type', {
        provider: 'xt',
        detail: { reason: 'body must be application/json (UTF-8)' },
      }),
    );
  }
  const encoding = req.get('content-encoding');
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return next(new AppError('unsupported_media_type', { provider: 'xt', detail: { reason: 'encoded body' } }));
  }
  next();
}

const hasBody = (req: Request) =>
  req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;

const readBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false });

function readJsonBody(req: Request, res: Response, next: NextFunction): void {
  if (locals(res).xtMethod === 'GET' || !hasBody(req)) return next();
  readBody(req, res, next);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The exact text to send and sign: valid UTF-8 holding one JSON object or array. Never re-serialised. */
function jsonBody(req: Request): string | undefined {
  const raw: unknown = req.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  let text: string;
  let parsed: unknown;
  try {
    text = utf8.decode(raw);
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw badRequest('body must be a JSON object or array');
  return text;
}

function forward(ctx: AppContext, caller: XtCaller) {
  const { ownerOf, callerClass, apiKeyRecipient } = caller;
  return async function forwardToXt(req: Request, res: Response): Promise<void> {
    const { xtMethod, xtTarget, xtTemplate } = locals(res);
    // The api-key answer holds a secret: without a recipient to seal it to, XT.COM is never asked.
    const sealTo = isNeverAllowed(xtTarget.path) ? apiKeyRecipient : undefined;
    if (isNeverAllowed(xtTarget.path) && !sealTo)
      throw new AppError('not_allowed', { provider: 'xt', detail: { method: xtMethod, path: xtTarget.path } });
    const body = jsonBody(req);
    const owner = ownerOf(req, res);
    if (!ctx.xtApi) throw new AppError('not_found');
    if (!owner) throw new AppError('not_connected', { provider: 'xt' });
    const call: XtCall = {
      method: xtMethod,
      path: xtTarget.path,
      template: xtTemplate,
      query: xtTarget.query,
      ...(body !== undefined ? { body } : {}),
    };
    const answer = await ctx.xtApi.call(owner, call, callerClass);
    const out = sealTo ? await sealApiKeyAnswer(answer.body, sealTo) : answer.body;
    // end(), not send(): no ETag, so never a 304 in place of XT.COM's own status.
    res.status(answer.status).type('application/json').end(out);
  };
}

/** How a caller of XT.COM is told apart: the site's pages (/api/xt) or the institution's backend (/v1). */
export interface XtCaller {
  /** The raw target (path and query) after the caller's prefix, or undefined when there is none. */
  targetOf: (req: Request) => string | undefined;
  allow: readonly AllowEntry[];
  /** May POST /user/account/api-key reach XT.COM (when also on `allow`)? Never for a browser. */
  apiKeyCreation: boolean;
  /** Browser callers need the X-CSRF-Token header on POST and DELETE; bearer-key callers do not. */
  crossSiteCheck: boolean;
  /** Whose XT.COM account: undefined answers not_connected. */
  ownerOf: (req: Request, res: Response) => string | undefined;
  /** Which share of the deployment's XT.COM budget the guard counts: 'person' (/api/xt) or 'service' (/v1). */
  callerClass: XtCallerClass;
  /** SERVICE_API_KEY_RECIPIENT: the api-key answer's secret is sealed to it; absent, that path is never called. */
  apiKeyRecipient?: ApiKeyRecipient;
  /** The mount as a route template, for the server span (`/v1/subjects/{sub}/xt`: never the subject itself). */
  route: string;
}

/** The steps listed at the top of this file, for one kind of caller. */
export function xtCallSteps(ctx: AppContext, caller: XtCaller) {
  return [
    checkMethod,
    checkTarget(caller.targetOf),
    checkAllowList(caller.allow, caller.apiKeyCreation, caller.route),
    caller.crossSiteCheck ? checkCrossSite(ctx) : noCrossSiteCheck,
    checkBodyType,
    readJsonBody,
    forward(ctx, caller),
  ];
}

export function xtGatewayRouter(ctx: AppContext): Router {
  const r = Router();
  r.use(
    XT_GATEWAY_PREFIX,
    ...xtCallSteps(ctx, {
      targetOf: gatewayTarget,
      allow: ctx.config.xtCalls.allow,
      apiKeyCreation: false,
      crossSiteCheck: true,
      ownerOf: (req) => connectionOwner(req),
      callerClass: 'person',
      route: XT_GATEWAY_PREFIX,
    }),
  );
  return r;
}

/**
 * The HTTP server span of each request, and spans around a handler (login, callback). Installed
 * by app.ts only when tracing is on.
 *
 * An incoming `traceparent` is honoured only when the request came through a proxy TRUST_PROXY
 * believes: anyone else could graft our spans onto a trace of their choosing (and pick the
 * sampling decision). Otherwise each request starts a new trace.
 *
 * The span holds the method, the route template and the status: never the URL, whose path may name
 * a subject and whose query may hold a code or a link token.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ROOT_CONTEXT, context, propagation, trace } from '@opentelemetry/api';
import { SpanKind, failSpan, inSpan, startSpan } from '../shared/tracing.js';
import { fromTrustedProxy } from './trustedProxy.js';

/** res.locals key: the route template a router names for its span when Express has none (`/api/xt/{allow-list pattern}`). */
export const SPAN_ROUTE = 'spanRoute';

function routeOf(req: Request, res: Response): string | undefined {
  const named = (res.locals as Record<string, unknown>)[SPAN_ROUTE];
  if (typeof named === 'string') return named;
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : undefined;
}

export function traceRequests(): RequestHandler {
  return function serverSpan(req: Request, res: Response, next: NextFunction): void {
    const parent = fromTrustedProxy(req) ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
    const span = startSpan(
      req.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } },
      parent,
    );
    if (!span) return next();
    const active = trace.setSpan(parent, span);
    // Listeners added later (the access log's, body parsers') run in the request's context too.
    context.bind(active, req);
    context.bind(active, res);
    res.once('close', () => {
      const route = routeOf(req, res);
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      if (res.writableFinished) {
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) failSpan(span, { code: String(res.statusCode) });
      } else failSpan(span, { code: 'aborted' });
      span.end();
    });
    context.with(active, next);
  };
}

/** The provider in a route's `:provider`, when it looks like one (it is the client's text). */
function providerParam(req: Request): string {
  const p = String(req.params.provider ?? '');
  return /^[a-z0-9_-]{1,32}$/.test(p) ? p : 'invalid';
}

/** `handler` in an internal span named `name` (auth.login, auth.callback), with the route's provider. */
export function spanned(
  name: string,
  handler: (req: Request, res: Response, next: NextFunction) => Promise<void>,
): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  return (req, res, next) =>
    inSpan(name, { attributes: { 'xtc.provider': providerParam(req) } }, () => handler(req, res, next));
}

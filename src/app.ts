/**
 * Builds the Express app. Exported for tests (supertest) and used by server.ts.
 */
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import type { HelmetOptions } from 'helmet';
import nunjucks from 'nunjucks';
import { backchannelRouter } from './auth/backchannel.js';
import { endedBindings } from './auth/binding.js';
import { authRouter } from './auth/router.js';
import type { Config } from './config/index.js';
import { type AppContext, type AppOptions, buildContext } from './context.js';
import { AppError } from './errors.js';
import { accessLog } from './http/accessLog.js';
import { API_PREFIX, SERVICE_PREFIX, under } from './http/dispatch.js';
import { securityHeaders } from './http/securityHeaders.js';
import { traceRequests } from './http/tracing.js';
import { errorHandler, notFound } from './http/errorHandler.js';
import { providerOrigins } from './providers/registry.js';
import { apiRouter } from './routes/api.js';
import { brandRouter, pageLocals } from './routes/brand.js';
import { embedRouter } from './routes/embed.js';
import { healthRouter } from './routes/health.js';
import { openapiRouter } from './routes/openapi.js';
import { referenceRouter } from './routes/reference.js';
import { pagesRouter } from './routes/pages.js';
import { serviceRouter } from './routes/service.js';
import { xtGatewayRouter } from './routes/xt/gateway.js';
import { createSessionMiddleware, type SessionLifecycle } from './session/middleware.js';
import { requestInfo } from './shared/requestContext.js';

/** The project root (where views/ and public/ live), from src/ under tsx/jest or dist/ when built (the bundle). */
export const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'views')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

export { type AppOptions, buildContext } from './context.js';

export interface BuiltApp {
  app: Express;
  ctx: AppContext;
  /** Stops the providers' background work and closes the stores. */
  close: () => Promise<void>;
}

/** Helmet's options: all static, so the headers are computed once (securityHeaders). */
function helmetOptions(config: Config): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'", ...providerOrigins(config)],
        frameAncestors: ["'none'"],
      },
    },
    // same-origin: our own forms carry a real Origin (checked on POST); other sites learn nothing.
    // The callback, whose URL holds the code, overrides this with no-referrer.
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: config.server.secureCookies ? undefined : false,
  };
}

/** A new Express app with the settings every request relies on, and the page templates. */
function newExpressApp(config: Config): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('xt-connect', true); // tells this app from the stand-ins (the tests' header guard, test/helpers/contractGuard.ts)
  app.set('trust proxy', config.server.trustProxy);
  app.set('query parser', 'simple');
  // Answers are personal and no-store, or versioned (the theme): an ETag would not be used.
  app.set('etag', false);
  nunjucks.configure(path.join(ROOT, 'views'), {
    autoescape: true,
    express: app,
    noCache: config.server.env === 'development',
    throwOnUndefined: false,
  });
  return app;
}

export function createExpressApp(ctx: AppContext): Express {
  const { config } = ctx;
  const app = newExpressApp(config);
  app.use(...(ctx.tracing ? [traceRequests()] : []), accessLog(ctx.logger)); // the span first: logs carry its trace

  // The request's id and client IP (as TRUST_PROXY resolves it), for the audit log wherever it is written from.
  app.use(function requestScope(req, _res, next) {
    // Only an address goes to the audit log: a replica reached around its proxy could be sent anything as X-Forwarded-For.
    const ip = req.ip !== undefined && isIP(req.ip) ? req.ip : 'invalid';
    requestInfo.run(
      { reqId: typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : '', ip },
      next,
    );
  });

  app.use(securityHeaders(helmetOptions(config)));
  const session = createSessionMiddleware(config, ctx.stores, {
    lifecycle: sessionLifecycle(ctx),
    logger: ctx.logger,
    sealing: { sealer: ctx.sealer, grace: ctx.sessionGrace },
  });
  const bound = endedBindings(ctx); // a binding whose subject was ended since is cleared before anything reads it
  // Each group sees only its own paths: a request passes only the middleware its route needs. The
  // same-origin JSON API comes first: its requests (the busiest) pass no public router on the way.
  app.use(under(API_PREFIX, personalResponse, session, bound, apiRouter(ctx), xtGatewayRouter(ctx), notFound())); // JSON: no page locals
  app.use(
    '/static',
    express.static(path.join(ROOT, 'public'), { index: false, maxAge: config.server.env === 'production' ? '1h' : 0 }),
  );
  app.use(healthRouter(ctx));
  app.use(embedRouter(ctx, path.join(ROOT, 'public', 'connect.js'))); // the Connect button: public, CORS for EMBED_ORIGINS
  app.use(openapiRouter(ctx, path.join(ROOT, 'api', 'openapi.yaml'))); // the contract: public, before the bearer check
  app.use(referenceRouter(ROOT)); // the contract rendered (/docs/api): public, no session
  app.use(under(SERVICE_PREFIX, serviceRouter(ctx))); // bearer keys only: no session, no page locals
  // Pages and /auth: the person's language and the site's brand (pageLocals), then the session.
  const locals = pageLocals(ctx);
  app.use(locals);
  app.use(brandRouter(ctx)); // the accent stylesheet, the logo, the language menu's links
  app.use(backchannelRouter(ctx)); // called by the provider, server to server: no session, no form token
  app.use(personalResponse);
  app.use(session);
  app.use(bound);
  app.use(pagesRouter(ctx));
  app.use(authRouter(ctx));
  app.use(notFound());
  app.use(errorHandler(ctx, locals));
  return app;
}

/**
 * Everything past the static files and health checks depends on the session cookie (pages show
 * who is connected, errors offer the person's next step): never stored by a shared or browser
 * cache, and never served to another cookie.
 */
function personalResponse(_req: express.Request, res: express.Response, next: express.NextFunction): void {
  res.set('Cache-Control', 'no-store');
  res.vary('Cookie');
  next();
}

/** Session-bound connections follow their session: they end when it does (SESSION_IDLE_TTL, SESSION_MAX_AGE). */
function sessionLifecycle(ctx: AppContext): SessionLifecycle {
  const failed = (err: unknown) =>
    ctx.logger.warn(
      { code: err instanceof AppError ? err.code : 'internal' },
      'a connection could not follow its session; its own TTL stands',
    );
  // Kept until done, so a stop lets them finish before the store closes.
  const track = (p: Promise<void>) => {
    const tracked = p.catch(failed).finally(() => ctx.lifecycle.background.delete(tracked));
    ctx.lifecycle.background.add(tracked);
  };
  return {
    stored: (owner, expiresAt) => track(ctx.connections.followSession(owner, expiresAt)),
    ended: (owner) => track(ctx.connections.forgetOwner(owner)),
  };
}

/** Waits (at most `ms`) for background store writes started by requests. */
async function settleBackground(ctx: AppContext, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([...ctx.lifecycle.background]),
    new Promise((r) => (timer = setTimeout(r, ms))),
  ]);
  clearTimeout(timer);
}

export async function createApp(config: Config, opts: AppOptions = {}): Promise<BuiltApp> {
  const ctx = await buildContext(config, opts);
  const app = createExpressApp(ctx);
  ctx.webhooks?.start();
  ctx.keeper.start();
  return {
    app,
    ctx,
    async close() {
      for (const p of ctx.providers.values()) p.close?.();
      ctx.sessionGrace.stop();
      ctx.xtApi?.close();
      await ctx.keeper.stop(); // the connection in hand is finished (a refresh, bounded by the provider timeout)
      await ctx.webhooks?.stop(); // the round in flight finishes (bounded by the delivery timeout) before the store closes
      await settleBackground(ctx, 2000);
      await ctx.stores.close();
    },
  };
}

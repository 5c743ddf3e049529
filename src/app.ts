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
import type { DestinationStream, Logger } from 'pino';
import { backchannelRouter } from './auth/backchannel.js';
import { endedBindings } from './auth/binding.js';
import { authRouter } from './auth/router.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import { AppError } from './errors.js';
import { accessLog } from './http/accessLog.js';
import { API_PREFIX, SERVICE_PREFIX, under } from './http/dispatch.js';
import { securityHeaders } from './http/securityHeaders.js';
import { errorHandler, notFound } from './http/errorHandler.js';
import { createLogger } from './logger.js';
import { buildProviders, providerOrigins } from './providers/registry.js';
import { createXtApi } from './services/xtApi.js';
import { createXtGuard } from './services/xtGuard.js';
import { apiRouter } from './routes/api.js';
import { brandRouter, pageLocals } from './routes/brand.js';
import { healthRouter } from './routes/health.js';
import { openapiRouter } from './routes/openapi.js';
import { pagesRouter } from './routes/pages.js';
import { serviceRouter } from './routes/service.js';
import { xtGatewayRouter } from './routes/xt/gateway.js';
import type { Provider } from './providers/types.js';
import { Connections, type LockTiming } from './session/connections/index.js';
import { Sealer } from './session/crypto.js';
import { sealedSessionsGrace } from './session/sealedSessions.js';
import { LogoutIndex } from './session/connections/logoutIndex.js';
import { createSessionMiddleware, type SessionLifecycle } from './session/middleware.js';
import { createStores } from './store/select.js';
import type { Stores } from './store/types.js';
import { Subjects } from './session/subjects.js';
import { BindingEpochs } from './session/bindings.js';
import { instrumentStores } from './store/instrumented.js';
import { instrumentProvider } from './providers/instrumented.js';
import { Audit } from './shared/audit.js';
import { Metrics } from './shared/metrics.js';
import { requestInfo } from './shared/requestContext.js';
import { type WebhookTiming, WebhookWorker } from './webhooks/delivery.js';

/** The project root (where views/ and public/ live), from src/ under tsx/jest or dist/ when built (the bundle). */
export const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'views')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

export interface AppOptions {
  logger?: Logger;
  logDestination?: DestinationStream;
  now?: () => number;
  backoffBaseMs?: number;
  // Test hooks: explicit ways in for tests, never set in production.
  /** Stores built by the caller instead of from the config, so the test keeps its own handle (SQLite's db, say). */
  stores?: Stores;
  /** Providers added next to the configured ones (a stub that fails in a given way, say). */
  providers?: Provider[];
  /** The refresh lock's lease, renewal and wait, scaled down (see ConnectionOptions.timing). */
  timing?: Partial<LockTiming>;
  /** Told the owner id each time a login stores a new token set (see ConnectionOptions.onConnected). */
  onConnected?: (owner: string, provider: string) => void;
  /** The webhook worker's retry delay, poll interval, lease, timeout and clock, scaled down (see WebhookTiming). */
  webhookTiming?: Partial<WebhookTiming>;
}

export interface BuiltApp {
  app: Express;
  ctx: AppContext;
  /** Stops the providers' background work and closes the stores. */
  close: () => Promise<void>;
}

export async function buildContext(config: Config, opts: AppOptions = {}): Promise<AppContext> {
  const { logger } = createLogger({
    level: config.logLevel,
    secrets: [
      config.sessionSecret,
      config.xt?.clientSecret,
      config.xt?.apiSecret,
      config.oidc?.clientSecret,
      config.redisUrl ? decodeURIComponent(new URL(config.redisUrl).password) : undefined,
      config.redis?.password,
      ...(config.tokenEncryptionKeys ?? []),
      config.link?.secret,
      ...(config.service?.keys.map((k) => k.key) ?? []),
      config.webhooks?.secret,
      config.webhooks?.secret.slice('whsec_'.length),
    ],
    destination: opts.logDestination,
  });
  const log = opts.logger ?? logger;
  for (const warning of config.warnings) log.warn(warning);
  const now = opts.now ?? Date.now;
  // Process metrics (CPU, memory, event loop) only when someone can scrape them.
  const metrics = new Metrics({ defaults: config.metrics !== undefined });
  const audit = new Audit(log);
  const stores = instrumentStores(opts.stores ?? (await createStores(config, log, now)), metrics);
  const sealer = Sealer.fromConfig(config.sessionSecret, config.tokenEncryptionKeys);
  const sessionGrace = await sealedSessionsGrace(stores.authState, config.sessionTtlMs);
  const providers = await buildProviders(config, log, now, metrics);
  for (const p of opts.providers ?? []) providers.set(p.id, instrumentProvider(p, metrics));
  // Connections tells the worker about each stored event; the worker is built after it, hence the indirection.
  const wake: { worker?: WebhookWorker } = {};
  const connections = new Connections({
    store: stores.authState,
    sealer,
    providers,
    logger: log,
    now,
    skewMs: config.refresh.skewMs,
    backoffMaxMs: config.refresh.backoffMaxMs,
    backoffBaseMs: opts.backoffBaseMs,
    lockMaxHoldMs: config.providerTimeoutMs * 2 + 5000,
    maxTtlMs: config.sessionTtlMs,
    timing: opts.timing,
    onConnected: opts.onConnected,
    webhooks: !!config.webhooks,
    onEvent: () => wake.worker?.kick(),
    metrics,
    audit,
    logoutIndex: new LogoutIndex(config.sessionSecret),
  });
  // One guard for every XT.COM call (the balances panel and /api/xt), shared by the replicas with Redis.
  const guard = createXtGuard({
    slidingLog: stores.slidingLog,
    ipLimitPerMinute: config.xtCalls.ipLimitPerMinute,
    queueWaitMs: config.xtCalls.queueWaitMs,
    personShare: config.xtCalls.personShare,
    serviceShare: config.xtCalls.serviceShare,
    logger: log,
  });
  const xtApi = config.xt
    ? createXtApi(config.xt, { connections, logger: log, timeoutMs: config.providerTimeoutMs, now, guard, metrics })
    : undefined;
  const subjects = new Subjects(config.sessionSecret);
  // An epoch outlives every binding made under it: none outlives SESSION_MAX_AGE (a day for clock differences).
  const bindings = new BindingEpochs(stores.authState, config.sessionMaxAgeMs + 86_400_000, now);
  const webhooks = config.webhooks
    ? new WebhookWorker({
        config: config.webhooks,
        outbox: stores.outbox,
        authState: stores.authState,
        sealer,
        logger: log,
        timing: { now, ...opts.webhookTiming },
        metrics,
      })
    : undefined;
  wake.worker = webhooks;
  const ctx: AppContext = {
    config,
    logger: log,
    lifecycle: { draining: false, background: new Set() },
    providers,
    stores,
    sealer,
    sessionGrace,
    connections,
    subjects,
    bindings,
    xtApi,
    webhooks,
    metrics,
    audit,
    now,
  };
  watchGauges(ctx);
  return ctx;
}

/**
 * Gauges read at scrape time: stored connections per provider (counted at most once a minute,
 * a cheap count in the store) and the webhook outbox. A store that cannot answer leaves the last value.
 */
function watchGauges(ctx: AppContext): void {
  let countedAt = -Infinity;
  const count = async () => {
    if (Date.now() - countedAt < 60_000) return;
    countedAt = Date.now();
    for (const id of ctx.providers.keys())
      ctx.metrics.sessionsConnected.set({ provider: id }, await ctx.stores.authState.countConnections(id));
  };
  ctx.metrics.onScrape(async () => {
    await count().catch(() => undefined);
    const stats = await ctx.webhooks?.stats().catch(() => undefined);
    if (stats) {
      ctx.metrics.outboxPending.set(stats.pending);
      ctx.metrics.outboxOldestAge.set(stats.oldestAgeSeconds);
    }
  });
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
    strictTransportSecurity: config.secureCookies ? undefined : false,
  };
}

export function createExpressApp(ctx: AppContext): Express {
  const { config } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  // Answers are personal and no-store, or versioned (the theme): an ETag would not be used.
  app.set('etag', false);

  nunjucks.configure(path.join(ROOT, 'views'), {
    autoescape: true,
    express: app,
    noCache: config.env === 'development',
    throwOnUndefined: false,
  });

  app.use(accessLog(ctx.logger));

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
  app.use(
    '/static',
    express.static(path.join(ROOT, 'public'), { index: false, maxAge: config.env === 'production' ? '1h' : 0 }),
  );
  app.use(healthRouter(ctx));
  app.use(openapiRouter(ctx, path.join(ROOT, 'api', 'openapi.yaml'))); // the contract: public, before the bearer check
  // Each group below sees only its own paths: a request passes only the middleware its route needs.
  app.use(under(SERVICE_PREFIX, serviceRouter(ctx))); // bearer keys only: no session, no page locals
  const session = createSessionMiddleware(config, ctx.stores, {
    lifecycle: sessionLifecycle(ctx),
    logger: ctx.logger,
    sealing: { sealer: ctx.sealer, grace: ctx.sessionGrace },
  });
  const bound = endedBindings(ctx); // a binding whose subject was ended since is cleared before anything reads it
  app.use(under(API_PREFIX, personalResponse, session, bound, xtGatewayRouter(ctx), apiRouter(ctx), notFound())); // JSON: no page locals
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
  return {
    app,
    ctx,
    async close() {
      for (const p of ctx.providers.values()) p.close?.();
      ctx.sessionGrace.stop();
      ctx.xtApi?.close();
      await ctx.webhooks?.stop(); // the round in flight finishes (bounded by the delivery timeout) before the store closes
      await settleBackground(ctx, 2000);
      await ctx.stores.close();
    },
  };
}

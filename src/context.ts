/**
 * What the handlers share (AppContext), and how it is built from the configuration: once, by
 * app.ts, then handed to every router.
 */
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config/index.js';
import { createLogger } from './logger.js';
import { instrumentProvider } from './providers/instrumented.js';
import { buildProviders } from './providers/registry.js';
import type { Provider } from './providers/types.js';
import { createXtApi, type XtApi } from './services/xtApi.js';
import { type XtGuard, createXtGuard } from './services/xtGuard.js';
import { BindingEpochs } from './session/bindings.js';
import { Sealer } from './session/crypto.js';
import { type ConnectionOptions, Connections, type LockTiming } from './session/connections/index.js';
import type { Keeper } from './session/connections/keeper.js';
import { createKeeper } from './session/connections/keeperSetup.js';
import { LogoutIndex } from './session/connections/logoutIndex.js';
import { type SealedSessionsGrace, sealedSessionsGrace } from './session/sealedSessions.js';
import { SubjectMoves } from './session/subjectMoves.js';
import { Subjects } from './session/subjects.js';
import { instrumentStores } from './store/instrumented.js';
import { createStores } from './store/select.js';
import type { Stores } from './store/types.js';
import { Audit } from './shared/audit.js';
import { Metrics } from './shared/metrics.js';
import { type Tracing, startTracing } from './shared/tracing.js';
import { type WebhookTiming, WebhookWorker } from './webhooks/delivery.js';

export interface AppContext {
  config: Config;
  logger: Logger;
  providers: Map<string, Provider>;
  stores: Stores;
  sealer: Sealer;
  /** Whether session records stored in clear by an earlier version are still accepted (sealedSessions.ts). */
  sessionGrace: SealedSessionsGrace;
  connections: Connections;
  /** The institution's user ids as opaque store keys (links, the service API). */
  subjects: Subjects;
  /** Each subject's binding epoch: DELETE /v1/subjects/{sub} ends every browser binding to it. */
  bindings: BindingEpochs;
  /** Moves a subject's records to the newest SUBJECT_KEYS key on first use (a rotation). */
  subjectMoves: SubjectMoves;
  xtApi?: XtApi;
  /** Delivers the outbox's connection events (WEBHOOK_URL is set); started and stopped by app.ts. */
  webhooks?: WebhookWorker;
  /** Keeps subjects' connections alive and warns before one ends (keeper.ts); started and stopped by app.ts. */
  keeper: Keeper;
  /** Prometheus metrics (served on METRICS_PORT by server.ts). */
  metrics: Metrics;
  /** The audit log: one line per security event. */
  audit: Audit;
  /** The OpenTelemetry SDK, when OTEL_EXPORTER_OTLP_ENDPOINT is set; shut down (flushed) by server.ts's stop. */
  tracing?: Tracing;
  now: () => number;
  /** Set when a graceful stop begins: readiness then fails so load balancers move traffic away. */
  lifecycle: {
    draining: boolean;
    /** Store writes a request started but does not wait for (connections following their session); a stop waits for them. */
    background: Set<Promise<unknown>>;
  };
}

/** How buildContext builds: the logger, the clock, and the test hooks. */
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
  /** The keeper's partition lease, scaled down (see KEEPER_LEASE_MS). */
  keeperLeaseMs?: number;
}

/** The parts built first, which the later steps take. */
type Basics = Pick<AppContext, 'config' | 'logger' | 'now' | 'metrics' | 'audit' | 'stores' | 'sealer' | 'providers'>;

/**
 * Builds the context from the configuration: the logger, metrics, stores and providers first,
 * then what is built on them (connections, the XT.COM account API, subjects, binding epochs, the
 * webhook worker). `opts` carries the test hooks.
 */
export async function buildContext(config: Config, opts: AppOptions = {}): Promise<AppContext> {
  const logger = contextLogger(config, opts.logDestination);
  const log = opts.logger ?? logger;
  for (const warning of config.warnings) log.warn(warning);
  const now = opts.now ?? Date.now;
  const tracing = await startTracing(config.telemetry); // first, so that every span below has its SDK
  // Process metrics (CPU, memory, event loop) only when someone can scrape them.
  const metrics = new Metrics({ defaults: config.server.metrics !== undefined });
  const audit = new Audit(log);
  const stores = instrumentStores(opts.stores ?? (await createStores(config, log, now)), metrics);
  const sealer = Sealer.forSession(config.session);
  const sessionGrace = await sealedSessionsGrace(stores.authState, config.session.idleTtlMs);
  const providers = await buildProviders(config, log, now, metrics);
  for (const p of opts.providers ?? []) providers.set(p.id, instrumentProvider(p, metrics));
  const basics: Basics = { config, logger: log, now, metrics, audit, stores, sealer, providers };
  // Connections tells the worker about each stored event; the worker is built after it, hence the indirection.
  const wake: { worker?: WebhookWorker } = {};
  const connectionOpts = connectionOptions(basics, opts, () => wake.worker?.kick());
  const connections = new Connections(connectionOpts);
  const guard = createGuard(basics);
  const xtApi = createXtAccountApi(basics, connections, guard);
  const keeper = createKeeper(connectionOpts, {
    ...config.session.keeper,
    xtSlot: (userId) => guard.take(userId, 'other', 'keeper'),
    leaseMs: opts.keeperLeaseMs,
  });
  const subjects = new Subjects(config.session.subjectKeys);
  // An epoch outlives every binding made under it: none outlives SESSION_MAX_AGE (a day for clock differences).
  const bindings = new BindingEpochs(stores.authState, config.session.maxAgeMs + 86_400_000, now);
  const subjectMoves = new SubjectMoves({
    subjects,
    connections,
    bindings,
    store: stores.authState,
    providers: () => providers.keys(),
    logger: log,
  });
  const webhooks = createWebhookWorker(basics, opts);
  wake.worker = webhooks;
  const ctx: AppContext = {
    ...basics,
    tracing,
    lifecycle: { draining: false, background: new Set() },
    sessionGrace,
    connections,
    subjects,
    bindings,
    subjectMoves,
    xtApi,
    webhooks,
    keeper,
  };
  watchGauges(ctx);
  return ctx;
}

/** The logger, told every secret in the configuration so that none is ever written out. */
function contextLogger(config: Config, destination: DestinationStream | undefined): Logger {
  const { session, redis, xt, oidc, integration } = config;
  const { logger } = createLogger({
    level: config.server.logLevel,
    secrets: [
      ...session.secrets,
      ...session.subjectKeys,
      xt?.clientSecret,
      xt?.apiSecret,
      oidc?.clientSecret,
      redis?.mode === 'single' ? decodeURIComponent(new URL(redis.url).password) : undefined,
      redis?.password,
      ...(session.tokenEncryptionKeys ?? []),
      ...(integration.link?.secrets ?? []),
      ...(integration.service?.keys.map((k) => k.key) ?? []),
      ...(integration.webhooks?.secrets.flatMap((s) => [s, s.slice('whsec_'.length)]) ?? []),
    ],
    destination,
  });
  return logger;
}

/** What Connections (and the keeper, made from the same) is built with. */
function connectionOptions(b: Basics, opts: AppOptions, onEvent: () => void): ConnectionOptions {
  const { config } = b;
  return {
    store: b.stores.authState,
    sealer: b.sealer,
    providers: b.providers,
    logger: b.logger,
    now: b.now,
    skewMs: config.session.refresh.skewMs,
    backoffMaxMs: config.session.refresh.backoffMaxMs,
    backoffBaseMs: opts.backoffBaseMs,
    lockMaxHoldMs: config.server.providerTimeoutMs * 2 + 5000,
    maxTtlMs: config.session.idleTtlMs,
    timing: opts.timing,
    onConnected: opts.onConnected,
    webhooks: !!config.integration.webhooks,
    onEvent,
    metrics: b.metrics,
    audit: b.audit,
    logoutIndex: new LogoutIndex(config.session.subjectKeys),
  };
}

/** One guard for every XT.COM call (the balances panel, /api/xt, the keeper's refreshes), shared by the replicas with Redis. */
function createGuard(b: Basics): XtGuard {
  const { xtCalls } = b.config;
  return createXtGuard({
    slidingLog: b.stores.slidingLog,
    ipLimitPerMinute: xtCalls.ipLimitPerMinute,
    queueWaitMs: xtCalls.queueWaitMs,
    personShare: xtCalls.personShare,
    serviceShare: xtCalls.serviceShare,
    keeperShare: xtCalls.keeperShare,
    logger: b.logger,
  });
}

/** The person's XT.COM account, when XT.COM is configured. */
function createXtAccountApi(b: Basics, connections: Connections, guard: XtGuard): XtApi | undefined {
  const { xt, server } = b.config;
  return xt
    ? createXtApi(xt, {
        connections,
        logger: b.logger,
        timeoutMs: server.providerTimeoutMs,
        now: b.now,
        guard,
        metrics: b.metrics,
      })
    : undefined;
}

/** Delivers the outbox's connection events, when WEBHOOK_URL is set (started and stopped by app.ts). */
function createWebhookWorker(b: Basics, opts: AppOptions): WebhookWorker | undefined {
  const config = b.config.integration.webhooks;
  if (!config) return undefined;
  return new WebhookWorker({
    config,
    outbox: b.stores.outbox,
    authState: b.stores.authState,
    sealer: b.sealer,
    logger: b.logger,
    timing: { now: b.now, ...opts.webhookTiming },
    metrics: b.metrics,
  });
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

/**
 * Prometheus metrics (prom-client), one registry per app, served on METRICS_PORT by server.ts and
 * never on the public port. Every label has a small, fixed set of values: never a user id, a
 * subject, a path with an id in it, or anything a client can vary freely.
 *
 * Modules take a `Metrics` as an optional dependency and call the methods below; none of them
 * creates metrics of its own, so this file is the whole list.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type LoginOutcome = 'ok' | 'declined' | 'failed';
export type RefreshOutcome = 'ok' | 'rejected' | 'transient' | 'skipped_by_lock';
export type ProviderOperation = 'exchange' | 'refresh' | 'revoke' | 'api' | 'discovery';
export type RateLimitScope = 'auth' | 'service' | 'xt_guard' | 'xt_api';
export type DeliveryOutcome = 'delivered' | 'failed' | 'gone' | 'dropped';

/** XT.COM's message codes are upper-case words; anything else, or one past the first MAX_MC seen, is `other`. */
const MC = /^[A-Z][A-Z0-9_]{0,39}$/;
const MAX_MC = 64;

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class Metrics {
  readonly registry = new Registry();
  private readonly mcSeen = new Set<string>();

  readonly logins = new Counter({
    name: 'xtc_logins_total',
    help: 'Completed login callbacks, by provider and outcome (ok, declined at the provider, failed).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly refreshes = new Counter({
    name: 'xtc_refreshes_total',
    help: 'Token refreshes: ok, keepalive (made by the keeper before the refresh token expired), rejected by the provider (the person must reconnect), transient failure, or skipped because another request or replica held the lock and refreshed.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly providerDuration = new Histogram({
    name: 'xtc_provider_request_duration_seconds',
    help: 'Duration of calls to a provider, by operation, whatever their outcome.',
    labelNames: ['provider', 'operation'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly xtApiRequests = new Counter({
    name: 'xtc_xt_api_requests_total',
    help: "Calls to XT.COM's user APIs, by outcome and XT.COM's message code (mc; 'none' without one).",
    labelNames: ['outcome', 'mc'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'xtc_rate_limited_total',
    help: 'Requests refused with 429, by scope: auth (per client IP), service (per key name), xt_guard (our guard for XT.COM), xt_api (XT.COM said 429).',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  readonly storeDuration = new Histogram({
    name: 'xtc_store_operation_duration_seconds',
    help: 'Duration of session-store operations, by store and operation.',
    labelNames: ['store', 'operation'] as const,
    buckets: STORE_BUCKETS,
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'xtc_store_errors_total',
    help: 'Session-store operations that failed (the store was unavailable), by store and operation.',
    labelNames: ['store', 'operation'] as const,
    registers: [this.registry],
  });
  readonly sessionsConnected = new Gauge({
    name: 'xtc_sessions_connected',
    help: 'Stored connections per provider (sessions and linked users), counted at most once a minute.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly outboxPending = new Gauge({
    name: 'xtc_webhook_outbox_pending',
    help: 'Webhook events waiting in the outbox.',
    registers: [this.registry],
  });
  readonly outboxOldestAge = new Gauge({
    name: 'xtc_webhook_outbox_oldest_age_seconds',
    help: 'Age of the oldest webhook event waiting in the outbox (0 when none).',
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: 'xtc_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome: delivered (2xx), failed (retried), gone (410, delivery disabled).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly webhookDeadLetters = new Counter({
    name: 'xtc_webhook_dead_letters_total',
    help: 'Webhook events not delivered within WEBHOOK_MAX_AGE, moved (still sealed) to the dead letters.',
    registers: [this.registry],
  });

  constructor(opts: { defaults?: boolean } = {}) {
    if (opts.defaults !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Times `fn` as a call to `provider` (whatever its outcome). */
  async timeProvider<T>(provider: string, operation: ProviderOperation, fn: () => Promise<T>): Promise<T> {
    const end = this.providerDuration.startTimer({ provider, operation });
    try {
      return await fn();
    } finally {
      end();
    }
  }

  /** A bounded label for an XT.COM message code. */
  mcLabel(mc: string | undefined): string {
    if (mc === undefined || mc === '') return 'none';
    if (!MC.test(mc)) return 'other';
    if (!this.mcSeen.has(mc)) {
      if (this.mcSeen.size >= MAX_MC) return 'other';
      this.mcSeen.add(mc);
    }
    return mc;
  }

  private readonly scrapeHooks: (() => Promise<void>)[] = [];

  /** Runs `hook` before each scrape (gauges that are read from a store). */
  onScrape(hook: () => Promise<void>): void {
    this.scrapeHooks.push(hook);
  }

  /** The text Prometheus scrapes. */
  async text(): Promise<string> {
    for (const hook of this.scrapeHooks) await hook();
    return this.registry.metrics();
  }
}

/**
 * The application service for XT.COM's user APIs: every call the app makes on a person's behalf
 * (the account page's balances panel, the /api/xt gateway) goes through XtApi.call().
 *
 *  - refresh first when the token is stale; on a 401, refresh once and retry once;
 *  - AUTH_105 (our clock): read XT.COM's clock again at once and retry once;
 *  - any other AUTH_ code: the institution's configuration is wrong. Nobody is disconnected; the
 *    person gets 502 provider_misconfigured, and the operators an error line (mc and path only),
 *    at most once a minute per mc;
 *  - XT.COM's 429: the person's calls are held (guard.hold) and the caller gets 429 rate_limited;
 *  - a 5xx, a timeout, a body that is not JSON or is over 1 MB: our own provider_* codes.
 * The guard, when there is one, is asked for a slot before each request that reaches XT.COM.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Metrics } from '../shared/metrics.js';
import { type Span, SpanKind, inSpan, spanEvent } from '../shared/tracing.js';
import { pathTemplate } from '../shared/xtAllowListSyntax.js';
import { z } from 'zod';
import type { XtConfig } from '../config/xt.js';
import { AppError } from '../errors.js';
import { createProviderHttp } from '../providers/xt/http.js';
import { XtClock } from '../providers/xt/clock.js';
import { readXtEnvelope } from '../providers/xt/envelope.js';
import { XT_USER_API_MAX_BYTES, type XtMethod, XtUserApi, type XtUserResponse } from '../providers/xt/userApi.js';
import type { Connections } from '../session/connections/index.js';
import { type XtAnswer, type XtOutcome, classify } from '../providers/xt/answer.js';
import { type XtCallerClass, type XtGuard, kindOf } from './xtGuard.js';

export type { XtAnswer };

export interface XtCall {
  method: XtMethod;
  /** Already checked by the caller; exactly what is sent and signed. */
  path: string;
  /**
   * What the span names instead of the path, whose segments may hold ids: the allow-list pattern
   * that matched, or the fixed path. Unset: the path with every segment holding a digit as `{id}`.
   */
  template?: string;
  /** The pairs of the query; sorted once here, and that one string is both signed and sent. */
  query: [string, string][];
  /** The exact JSON bytes to send and sign. */
  body?: string;
}

interface Access {
  token: string;
  /** Who the guard counts: XT.COM's user id (or a digest of the owner when XT.COM gave none). */
  guardKey: string;
  caller: XtCallerClass;
}

export interface XtApiOptions {
  userApi: XtUserApi;
  connections: Connections;
  logger: Logger;
  now?: () => number;
  guard?: XtGuard;
  /** xtc_xt_api_requests_total, the `api` call durations and the 429s. */
  metrics?: Metrics;
}

/** Each misconfiguration code is logged at most this often. */
export const MISCONFIG_LOG_EVERY_MS = 60_000;

export class XtApi {
  private readonly provider = 'xt';
  private readonly now: () => number;
  private readonly misconfigLoggedAt = new Map<string, number>();

  constructor(private readonly opts: XtApiOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * One call for the person behind `owner`. Returns XT.COM's answer when it is its own (rc 0, or
   * rc 1 with a business mc); throws AppError for everything else. `caller`: whose share of the
   * deployment's XT.COM budget the guard counts it against (the institution's /v1 calls: 'service').
   */
  call(owner: string, call: XtCall, caller: XtCallerClass = 'person'): Promise<XtAnswer> {
    // The template and the method only: never the path's own segments, the query or the body.
    const template = call.template ?? pathTemplate(call.path);
    const attributes = { 'http.request.method': call.method, 'xt.path_template': template, 'xtc.caller': caller };
    return inSpan(`XT.COM ${call.method} ${template}`, { kind: SpanKind.CLIENT, attributes }, (span) =>
      this.attempts(owner, call, caller, span),
    );
  }

  private async attempts(owner: string, call: XtCall, caller: XtCallerClass, span?: Span): Promise<XtAnswer> {
    let access = await this.access(owner, caller);
    const retried = { token: false, clock: false };
    // At most three requests: the first, one after a new clock reading, one after a refresh.
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.send(access, call);
      const outcome = classify(res, call.path, this.now());
      this.count(outcome);
      const mc = outcome.kind === 'answer' ? outcome.code : 'mc' in outcome ? outcome.mc : 'none';
      span?.setAttributes({ 'http.response.status_code': res.status, 'xt.outcome': outcome.kind, 'xt.mc': mc });
      if (outcome.kind === 'answer') return outcome.answer;
      if (outcome.kind === 'clock' && !retried.clock) {
        spanEvent('xt.retry', { reason: 'clock' });
        retried.clock = true;
        await this.opts.userApi.clock.syncAfter(res.clockReading);
        continue;
      }
      if (outcome.kind === 'token_rejected' && !retried.token) {
        spanEvent('xt.retry', { reason: 'token_rejected' });
        retried.token = true;
        access = await this.afterRejection(owner, access);
        continue;
      }
      throw await this.failure(outcome, access, call);
    }
    throw new AppError('internal', { provider: this.provider, detail: { reason: 'retry budget exceeded' } });
  }

  /** Stops the clock's periodic reading and closes the idle connections to XT.COM. */
  close(): void {
    this.opts.userApi.close();
  }

  private async access(owner: string, caller: XtCallerClass): Promise<Access> {
    const a = await this.opts.connections.access(owner, this.provider);
    return { token: a.token, guardKey: guardKey(owner, a.userId), caller };
  }

  private async send(access: Access, call: XtCall): Promise<XtUserResponse> {
    await this.opts.userApi.clock.ready(); // the first clock reading, before the slot is taken
    try {
      await this.opts.guard?.take(access.guardKey, kindOf(call.path), access.caller);
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') {
        this.opts.metrics?.rateLimited.inc({ scope: 'xt_guard' });
        this.opts.metrics?.xtApiRequests.inc({ outcome: 'held_by_guard', mc: 'none' });
      }
      throw err;
    }
    const request = () =>
      this.opts.userApi.send({
        method: call.method,
        path: call.path,
        query: call.query,
        body: call.body,
        token: access.token,
      });
    try {
      return await (this.opts.metrics ? this.opts.metrics.timeProvider(this.provider, 'api', request) : request());
    } catch (err) {
      this.opts.metrics?.xtApiRequests.inc({ outcome: 'failed', mc: 'none' });
      throw err;
    }
  }

  /** One request's outcome, counted: XT.COM's answer (ok or a business refusal with its mc), or why it was not one. */
  private count(outcome: XtOutcome): void {
    const m = this.opts.metrics;
    if (!m) return;
    if (outcome.kind === 'answer')
      m.xtApiRequests.inc({ outcome: outcome.mc === undefined ? 'ok' : 'business_error', mc: m.mcLabel(outcome.mc) });
    else if (outcome.kind === 'clock' || outcome.kind === 'misconfigured')
      m.xtApiRequests.inc({ outcome: outcome.kind, mc: m.mcLabel(outcome.mc) });
    else {
      m.xtApiRequests.inc({ outcome: outcome.kind, mc: 'none' });
      if (outcome.kind === 'rate_limited') m.rateLimited.inc({ scope: 'xt_api' });
    }
  }

  /** XT.COM refused the token: refresh unless someone already has, else ask the person to reconnect. */
  private async afterRejection(owner: string, access: Access): Promise<Access> {
    const rec = await this.opts.connections.refreshAfterRejection(owner, this.provider, access.token);
    if (rec && rec.status === 'active' && rec.accessToken === access.token && rec.refreshFailures > 0) {
      // The refresh failed for now (the provider is struggling): nothing has ended, try again later.
      const retryAfterMs = Math.max(1000, (rec.nextRefreshAt ?? 0) - this.now());
      throw new AppError('provider_down', {
        provider: this.provider,
        detail: { reason: 'refresh deferred after the token was refused', retryAfterMs },
      });
    }
    if (!rec || rec.status !== 'active' || !rec.accessToken || rec.accessToken === access.token) {
      throw new AppError('reconnect_required', {
        provider: this.provider,
        detail: { reason: 'api rejected the token' },
      });
    }
    return { ...access, token: rec.accessToken };
  }

  private async failure(
    outcome: Exclude<XtOutcome, { kind: 'answer' }>,
    access: Access,
    call: XtCall,
  ): Promise<AppError> {
    const provider = this.provider;
    switch (outcome.kind) {
      case 'token_rejected':
        return new AppError('reconnect_required', { provider, detail: { reason: 'api rejected the refreshed token' } });
      case 'rate_limited':
        // Still a 429 when the hold cannot be recorded (the shared store is away): the guard's own windows go on.
        await this.opts.guard?.hold(access.guardKey, outcome.retryAfterMs).catch((err: unknown) => {
          this.opts.logger.warn(
            { provider, code: err instanceof AppError ? err.code : 'internal' },
            "XT.COM's 429 hold could not be recorded",
          );
        });
        return new AppError('rate_limited', {
          provider,
          detail: { reason: 'XT.COM answered 429', retryAfterMs: outcome.retryAfterMs, path: call.path },
        });
      case 'clock':
      case 'misconfigured':
        this.logMisconfiguration(outcome.mc, call.path, outcome.httpStatus);
        return new AppError('provider_misconfigured', {
          provider,
          detail: { mc: outcome.mc, httpStatus: outcome.httpStatus, path: call.path },
        });
    }
  }

  /** At error level, at most once a minute per mc; the mc and the path only (never the key or signature). */
  private logMisconfiguration(mc: string, path: string, httpStatus: number): void {
    const now = this.now();
    const last = this.misconfigLoggedAt.get(mc);
    if (last !== undefined && now - last < MISCONFIG_LOG_EVERY_MS) return;
    if (this.misconfigLoggedAt.size >= 100) this.misconfigLoggedAt.clear(); // AUTH_ codes are few; bounded anyway
    this.misconfigLoggedAt.set(mc, now);
    this.opts.logger.error(
      { provider: this.provider, mc, path, httpStatus },
      `XT.COM refused a signed call with ${mc}: the site's XT.COM configuration (API key, secret, bound IPs, permissions or clock) is wrong`,
    );
  }
}

function guardKey(owner: string, userId: string | undefined): string {
  return userId ?? `owner-${createHash('sha256').update(owner).digest('base64url').slice(0, 22)}`;
}

/** The XT.COM client the app uses: a 1 MB answer cap, XT.COM's clock read at start and every 10 minutes. */
export function createXtApi(
  cfg: XtConfig,
  o: {
    connections: Connections;
    logger: Logger;
    timeoutMs: number;
    now?: () => number;
    guard?: XtGuard;
    metrics?: Metrics;
  },
): XtApi {
  const http = createProviderHttp({ provider: 'xt', timeoutMs: o.timeoutMs, maxBytes: XT_USER_API_MAX_BYTES });
  const clock = new XtClock({ apiUrl: cfg.apiUrl, http, logger: o.logger, now: o.now });
  clock.start();
  return new XtApi({
    userApi: new XtUserApi(cfg, http, clock),
    connections: o.connections,
    logger: o.logger,
    now: o.now,
    guard: o.guard,
    metrics: o.metrics,
  });
}

const balanceSchema = z.object({
  assets: z
    .array(
      z.object({
        currency: z.string().max(32),
        availableAmount: z.union([z.string().max(64), z.number()]).optional(),
        frozenAmount: z.union([z.string().max(64), z.number()]).optional(),
      }),
    )
    .max(1000)
    .default([]),
});

export interface Balance {
  currency: string;
  available: string;
  frozen: string;
}

/** The account page's balances panel, through the same client (and guard) as everything else. */
export async function spotBalances(api: XtApi, owner: string): Promise<Balance[]> {
  const answer = await api.call(owner, { method: 'GET', path: '/spot/v4/balances', query: [] });
  const env = readXtEnvelope({ ...answer, contentType: 'application/json' }, 'xt', { path: '/spot/v4/balances' });
  if (env.rc !== 0)
    throw new AppError('provider_rejected', {
      provider: 'xt',
      detail: { httpStatus: answer.status, path: '/spot/v4/balances', rc: env.rc, mc: env.mc },
    });
  const parsed = balanceSchema.safeParse(env.result);
  if (!parsed.success)
    throw new AppError('provider_bad_response', { provider: 'xt', detail: { reason: 'unexpected balances shape' } });
  return parsed.data.assets.map((a) => ({
    currency: a.currency.toUpperCase(),
    available: String(a.availableAmount ?? '0'),
    frozen: String(a.frozenAmount ?? '0'),
  }));
}

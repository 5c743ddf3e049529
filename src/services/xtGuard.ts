/**
 * The guard for the person's XT.COM account. XT.COM allows 3 calls a second per user on asset
 * endpoints, 10 a second on the others and 1000 a minute per IP, and repeated excess can lock the
 * person's account for 10 minutes. Every call to XT.COM's user APIs (the account page's balances,
 * /api/xt) takes a slot here first, so no reload, buggy script or second replica pushes a person over:
 *
 *  - sliding windows (slidingLog.ts): per XT.COM user id, 3 per second for `/spot/v4/balance*`
 *    and 10 per second for everything else, plus XT_API_IP_LIMIT per minute for the deployment;
 *  - that deployment budget is shared (budgetOf): a person may hold at most XT_API_PERSON_SHARE
 *    of it in the minute, people together at most all but XT_API_SERVICE_SHARE, which is kept for
 *    the institution's /v1 calls (the 'service' caller; it may use the whole budget). A hard cap,
 *    no lending of spare capacity: the bound is simple and provable (k greedy people take at most
 *    k shares, whatever they do, so anyone else finds room while k × share < 1 − service share);
 *    lending would need a fair queue across replicas for the light user to come first;
 *  - a call over a limit waits up to XT_API_QUEUE_WAIT for a slot, then is refused with
 *    429 rate_limited and Retry-After, and XT.COM never sees it;
 *  - after XT.COM's own 429, hold() refuses that person's calls for its Retry-After;
 *  - with the Redis store the windows and holds are shared by every replica.
 *
 * Each window is measured over its nominal length plus a margin (WINDOW_MARGIN_MS): a slot is
 * taken just before the request leaves, and requests do not reach XT.COM after exactly the same
 * delay, so the margin keeps two bursts a second apart at our end from landing closer at theirs.
 */
import type { Logger } from 'pino';
import { DEFAULT_KEEPALIVE_SHARE, DEFAULT_PERSON_SHARE, DEFAULT_SERVICE_SHARE } from '../config/xt.js';
import { AppError } from '../errors.js';
import { DEFAULT_HOLD_MS } from '../providers/xt/answer.js';
import { MemorySlidingLog, type RateWindow, type SlidingLog, type TakeResult } from '../store/slidingLog.js';

export type XtCallKind = 'asset' | 'other';
/**
 * Who is calling: a person (the site's pages, /api/xt), the institution's backend (/v1), or the
 * keeper's refreshes (session/connections/keeper.ts: at most KEEPALIVE_SHARE of the budget).
 */
export type XtCallerClass = 'person' | 'service' | 'keeper';

/** `/spot/v4/balance` and `/spot/v4/balances` (XT.COM's asset endpoints) are 'asset'; the rest 'other'. */
export function kindOf(path: string): XtCallKind {
  return (path.split('?')[0] ?? '').toLowerCase().startsWith('/spot/v4/balance') ? 'asset' : 'other';
}

export interface XtGuard {
  /**
   * Waits up to XT_API_QUEUE_WAIT for a slot for this XT.COM user (and the deployment-wide
   * budget); throws AppError('rate_limited', { provider: 'xt', detail: { retryAfterMs } }) when
   * none comes, or at once while a hold is active. Call it right before each request is sent
   * (a retry is another request), after everything that can take time (token refresh, clock).
   * `caller` (default 'person') picks the share of the deployment budget the call counts against.
   */
  take(userId: string, kind: XtCallKind, caller?: XtCallerClass): Promise<void>;
  /** XT.COM answered 429 for this user: nothing for them is sent for `ms`, in every replica. */
  hold(userId: string, ms: number): Promise<void>;
}

/** XT.COM's per-user limits, per second. */
export const XT_USER_LIMITS: Record<XtCallKind, number> = { asset: 3, other: 10 };
/**
 * Added to every window (see above). Requests on a fresh connection (TCP and TLS set-up) reach
 * XT.COM a few round trips later than those on a warm one; an adversarial run through a proxy
 * that delayed new connections by 250 ms got 5 calls into one second at XT.COM with a 200 ms
 * margin. 500 ms absorbs set-up delays of a few hundred milliseconds, at the price of effective
 * rates of 2/s (assets) and 6.7/s (others); an excess costs the person a 10-minute lock.
 */
export const WINDOW_MARGIN_MS = 500;
/** Waiters wake a little apart, so they do not all ask for the one free slot at once. */
const JITTER_MS = 15;

export interface XtGuardOptions {
  /** Shared windows (the Redis store's); absent: this process keeps its own. */
  log?: SlidingLog;
  ipLimitPerMinute: number;
  queueWaitMs: number;
  /** XT_API_PERSON_SHARE, XT_API_SERVICE_SHARE: fractions of ipLimitPerMinute (see budgetOf). */
  personShare?: number;
  serviceShare?: number;
  /** KEEPALIVE_SHARE: the most of ipLimitPerMinute the 'keeper' caller may use (a fraction). */
  keeperShare?: number;
  logger?: Logger;
  provider?: string;
  /** For tests: other limits or margin. */
  userLimits?: Record<XtCallKind, number>;
  marginMs?: number;
  /** For tests: the deployment window's nominal length (60 s: XT.COM's limit per IP is per minute). */
  budgetWindowMs?: number;
}

/** The deployment budget in calls per window, split (see the top of this file). */
export interface Budget {
  /** Every call counts here (XT_API_IP_LIMIT). */
  total: number;
  /** People's calls together; the rest (total − persons) is kept for the service. */
  persons: number;
  /** One person's calls. */
  perPerson: number;
}

/** The keeper's part of `limit` calls: ceil(keeperShare × limit), at least 1 (a hair off first, as budgetOf). */
export const keeperBudgetOf = (limit: number, keeperShare = DEFAULT_KEEPALIVE_SHARE): number =>
  Math.max(1, Math.ceil(keeperShare * limit - 1e-9));

/**
 * The split of `limit` calls: the service keeps ceil(serviceShare × limit), people share the
 * rest, one person at most ceil(personShare × limit) of it. Each part is at least 1 call (loadConfig
 * refuses settings that leave people nothing); a hair is taken off before rounding up, so that
 * 0.7 × 100 is 70 and not 71.
 */
export function budgetOf(
  limit: number,
  personShare = DEFAULT_PERSON_SHARE,
  serviceShare = DEFAULT_SERVICE_SHARE,
): Budget {
  const part = (share: number) => Math.ceil(share * limit - 1e-9);
  const persons = Math.max(1, limit - part(serviceShare));
  return { total: limit, persons, perPerson: Math.min(persons, Math.max(1, part(personShare))) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SlidingXtGuard implements XtGuard {
  private readonly log: SlidingLog;
  private readonly provider: string;
  private readonly limits: Record<XtCallKind, number>;
  private readonly marginMs: number;
  private readonly budgetWindowMs: number;
  private readonly budget: Budget;
  private readonly keeperBudget: number;

  constructor(private readonly opts: XtGuardOptions) {
    this.log = opts.log ?? new MemorySlidingLog();
    this.provider = opts.provider ?? 'xt';
    this.limits = opts.userLimits ?? XT_USER_LIMITS;
    this.marginMs = opts.marginMs ?? WINDOW_MARGIN_MS;
    this.budgetWindowMs = opts.budgetWindowMs ?? 60_000;
    this.budget = budgetOf(opts.ipLimitPerMinute, opts.personShare, opts.serviceShare);
    this.keeperBudget = keeperBudgetOf(opts.ipLimitPerMinute, opts.keeperShare);
  }

  /**
   * The windows one call counts against: its user's window for its kind and the deployment's;
   * a person's call also their share of the deployment budget and the people's part of it.
   */
  windowsFor(userId: string, kind: XtCallKind, caller: XtCallerClass = 'person'): RateWindow[] {
    const budgetMs = this.budgetWindowMs + this.marginMs;
    const windows: RateWindow[] = [
      { key: `u:${userId}:${kind}`, limit: this.limits[kind], windowMs: 1000 + this.marginMs },
      { key: 'deployment', limit: this.budget.total, windowMs: budgetMs },
    ];
    if (caller === 'keeper') windows.push({ key: 'keeper', limit: this.keeperBudget, windowMs: budgetMs });
    if (caller === 'person') {
      windows.push(
        { key: `p:${userId}`, limit: this.budget.perPerson, windowMs: budgetMs },
        { key: 'persons', limit: this.budget.persons, windowMs: budgetMs },
      );
    }
    return windows;
  }

  async take(userId: string, kind: XtCallKind, caller: XtCallerClass = 'person'): Promise<void> {
    const started = performance.now();
    const windows = this.windowsFor(userId, kind, caller);
    for (;;) {
      const r = await this.log.take(`hold:${userId}`, windows);
      if (r.ok) return;
      const left = this.opts.queueWaitMs - (performance.now() - started);
      if (r.held || r.waitMs > left) throw this.refusal(r, kind);
      await sleep(r.waitMs + Math.random() * JITTER_MS);
    }
  }

  async hold(userId: string, ms: number): Promise<void> {
    const holdMs = Number.isFinite(ms) && ms > 0 ? Math.min(ms, 10 * 60_000) : DEFAULT_HOLD_MS;
    this.opts.logger?.warn({ provider: this.provider, holdMs }, "XT.COM answered 429: this person's calls are held");
    await this.log.hold(`hold:${userId}`, holdMs);
  }

  private refusal(r: Extract<TakeResult, { ok: false }>, kind: XtCallKind): AppError {
    return new AppError('rate_limited', {
      provider: this.provider,
      detail: { retryAfterMs: r.waitMs, reason: r.held ? 'held after XT.COM 429' : 'guard', kind },
    });
  }
}

/** The app's guard: shared through the store when it offers shared windows (Redis), per process otherwise. */
export function createXtGuard(opts: {
  slidingLog?: SlidingLog;
  ipLimitPerMinute: number;
  queueWaitMs: number;
  personShare: number;
  serviceShare: number;
  keeperShare?: number;
  logger?: Logger;
}): XtGuard {
  const { slidingLog, ...rest } = opts;
  return new SlidingXtGuard({ log: slidingLog, ...rest });
}

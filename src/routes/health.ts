import { Router } from 'express';
import type { AppContext } from '../context.js';
import type { WebhookStats } from '../webhooks/delivery.js';

/** /readyz answers within a second whatever REDIS_COMMAND_TIMEOUT is: a probe that waits longer is itself a failure. */
const READY_DEADLINE_MS = 800;

/** `p`, or a rejection after `ms` (`p` itself is left to finish or fail on its own). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('the store did not answer the readiness ping in time')), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** What the metrics listener's /readyz tells the operator: why not ready, the store, and the webhook outbox's figures. */
export interface ReadinessDetail {
  status: 'ready' | 'draining' | 'unavailable';
  store: string;
  webhooks?: WebhookStats;
}

/**
 * Ready: not draining, the store answers its ping and, with webhooks, the outbox its figures,
 * both within READY_DEADLINE_MS (a Redis that does not answer fails here, or at
 * REDIS_COMMAND_TIMEOUT if that is shorter).
 */
export async function readiness(ctx: AppContext): Promise<ReadinessDetail> {
  const store = ctx.stores.kind;
  if (ctx.lifecycle.draining) return { status: 'draining', store };
  try {
    const [, webhooks] = await within(
      Promise.all([ctx.stores.authState.ping(), ctx.webhooks?.stats()]),
      READY_DEADLINE_MS,
    );
    return webhooks ? { status: 'ready', store, webhooks } : { status: 'ready', store };
  } catch {
    return { status: 'unavailable', store };
  }
}

/** The HTTP status and headers of a readiness answer, on either port. */
export function readinessHeaders(detail: ReadinessDetail): { status: number; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (detail.status === 'unavailable') headers['retry-after'] = '5';
  return { status: detail.status === 'ready' ? 200 : 503, headers };
}

export function healthRouter(ctx: AppContext): Router {
  const r = Router();
  // Liveness: the process is up. Never depends on the store, so an orchestrator does not restart us for Redis's sake.
  r.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  // Readiness, on the public port: ready or not, nothing more (which store, the webhook backlog
  // and why not are the operator's business: GET /readyz on the metrics listener).
  r.get('/readyz', async (_req, res) => {
    const detail = await readiness(ctx);
    const { status, headers } = readinessHeaders(detail);
    res
      .status(status)
      .set(headers)
      .json({ status: status === 200 ? 'ready' : 'not_ready' });
  });
  return r;
}

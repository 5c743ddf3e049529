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

/** The store's ping and, with webhooks, the outbox's figures: both within `ms`, or a rejection. */
async function readiness(ctx: AppContext, ms: number): Promise<{ webhooks?: WebhookStats }> {
  const [, webhooks] = await within(Promise.all([ctx.stores.authState.ping(), ctx.webhooks?.stats()]), ms);
  return webhooks ? { webhooks } : {};
}

export function healthRouter(ctx: AppContext): Router {
  const r = Router();
  // Liveness: the process is up. Never depends on the store, so an orchestrator does not restart us for Redis's sake.
  r.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  // Readiness: the session store answers. With webhooks, also how many events wait and the oldest one's age.
  r.get('/readyz', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (ctx.lifecycle.draining) {
      res.status(503).json({ status: 'draining', store: ctx.stores.kind });
      return;
    }
    try {
      const extra = await readiness(ctx, READY_DEADLINE_MS);
      res.json({ status: 'ready', store: ctx.stores.kind, ...extra });
    } catch {
      // A Redis that does not answer fails the ping within READY_DEADLINE_MS (or REDIS_COMMAND_TIMEOUT, if shorter).
      res.status(503).set('Retry-After', '5').json({ status: 'unavailable', store: ctx.stores.kind });
    }
  });
  return r;
}

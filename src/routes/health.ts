import { Router } from 'express';
import type { AppContext } from '../context.js';

/** /readyz answers within a second whatever REDIS_COMMAND_TIMEOUT is: a probe that waits longer is itself a failure. */
const READY_DEADLINE_MS = 800;

/** The store's ping, or a rejection after `ms` (the ping itself is left to finish or fail on its own). */
function pingWithin(ctx: AppContext, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('the store did not answer the readiness ping in time')), ms);
  });
  return Promise.race([ctx.stores.authState.ping(), late]).finally(() => clearTimeout(timer));
}

export function healthRouter(ctx: AppContext): Router {
  const r = Router();
  // Liveness: the process is up. Never depends on the store, so an orchestrator does not restart us for Redis's sake.
  r.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  // Readiness: the session store answers.
  r.get('/readyz', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (ctx.lifecycle.draining) {
      res.status(503).json({ status: 'draining', store: ctx.stores.kind });
      return;
    }
    try {
      await pingWithin(ctx, READY_DEADLINE_MS);
      res.json({ status: 'ready', store: ctx.stores.kind });
    } catch {
      // A Redis that does not answer fails the ping within READY_DEADLINE_MS (or REDIS_COMMAND_TIMEOUT, if shorter).
      res.status(503).set('Retry-After', '5').json({ status: 'unavailable', store: ctx.stores.kind });
    }
  });
  return r;
}

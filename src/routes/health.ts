import { Router } from 'express';
import type { AppContext } from '../context.js';

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
      await ctx.stores.authState.ping();
      res.json({ status: 'ready', store: ctx.stores.kind });
    } catch {
      // A Redis that does not answer fails the ping within REDIS_COMMAND_TIMEOUT.
      res.status(503).set('Retry-After', '5').json({ status: 'unavailable', store: ctx.stores.kind });
    }
  });
  return r;
}

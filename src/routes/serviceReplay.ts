/**
 * POST /v1/webhooks/replay (the service API, scope `webhooks.replay`): puts kept events (dead
 * letters, and events delivered within WEBHOOK_LOG_TTL) back in the queue, as Svix's "recover"
 * does. Body `{ since, until?, ids? }`: events first created from `since` to `until` (default: now),
 * both RFC 3339 times, and with `ids` only those webhook-ids. Each event keeps its webhook-id, so a
 * receiver that deduplicates sees nothing twice it had already handled; it goes to the end of its
 * subject's queue, and WEBHOOK_MAX_AGE counts from the replay.
 *
 * One call puts back at most REPLAY_MAX events, the earliest first, and answers 202 with their ids
 * and `more`: when true, the same call again puts back the next ones (a replayed event leaves the
 * kept set until it is delivered again).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { REPLAY_MAX, replayQuery } from '../webhooks/queries.js';
import { serviceLocals } from './serviceScope.js';

export { REPLAY_IDS_MAX, REPLAY_MAX } from '../webhooks/queries.js';

export function replayRoute(ctx: AppContext) {
  return [
    function jsonOnly(req: Request, _res: Response, next: NextFunction): void {
      const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
      if (req.is('application/json') && encoding === 'identity') return next();
      next(new AppError('unsupported_media_type', { detail: { reason: 'the body must be uncompressed JSON' } }));
    },
    express.json({ limit: '16kb', strict: true, inflate: false }),
    async function replay(req: Request, res: Response): Promise<void> {
      const q = replayQuery(req.body, ctx.now());
      const eventIds = await ctx.stores.outbox.replay(q);
      if (eventIds.length > 0) ctx.webhooks?.kick();
      ctx.audit.write('webhooks_replayed', { serviceKey: serviceLocals(res).serviceKey, count: eventIds.length });
      res.status(202).json({ replayed: eventIds.length, eventIds, more: eventIds.length === REPLAY_MAX });
    },
  ];
}

/**
 * GET /v1/webhooks/deliveries?status=&cursor=&limit= (the service API, scope `webhooks`): the
 * delivery log, newest first, `{data, nextCursor}`: each attempt's event id (webhook-id), type,
 * status, status code, duration, attempt number and error class; never a payload, a subject or a
 * secret. Kept for WEBHOOK_LOG_TTL. The cursor is opaque and sealed (webhooks/logCursor.ts).
 *
 * Paging rule, as for GET /v1/connections: follow `nextCursor` until it is null; a page may hold
 * fewer than `limit` items (even none) while it is not null, since a request reads at most
 * LOG_READ_MAX entries and the status filter applies to what it read.
 */
import type { Request, Response } from 'express';
import type { AppContext } from '../context.js';
import { badRequest } from '../errors.js';
import { LogCursors } from '../webhooks/logCursor.js';
import { deliveryJson, deliveryStatus, LOG_READ_MAX } from '../webhooks/queries.js';

export { LOG_READ_MAX } from '../webhooks/queries.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

/** A query parameter given at most once, as a string; a repeated or nested one is a 400. */
function one(req: Request, name: string): string | undefined {
  const v: unknown = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`${name} must be given once`);
  return v;
}

function queryOf(cursors: LogCursors, req: Request) {
  const status = deliveryStatus(one(req, 'status'));
  const cursor = one(req, 'cursor');
  const before = cursor === undefined ? undefined : cursor.length <= 512 ? cursors.open(cursor) : undefined;
  if (cursor !== undefined && !before) throw badRequest('cursor is not one this service gave');
  const rawLimit = one(req, 'limit');
  const limit = rawLimit === undefined ? DEFAULT_LIMIT : /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  return { status, before, limit, scan: LOG_READ_MAX };
}

export function listDeliveriesRoute(ctx: AppContext) {
  const cursors = new LogCursors(ctx.config.session.secrets);
  return async function listDeliveries(req: Request, res: Response): Promise<void> {
    const page = await ctx.stores.outbox.readAttempts(queryOf(cursors, req));
    res.json({
      data: page.items.map(deliveryJson),
      nextCursor: page.last === undefined ? null : cursors.seal(page.last),
    });
  };
}

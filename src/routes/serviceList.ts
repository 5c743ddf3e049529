/**
 * GET /v1/connections?state=&provider=&cursor=&limit= (the service API): one page of the subjects'
 * connections (session/connections/list.ts), `{data, nextCursor}`. The cursor is opaque and MACed
 * (session/listCursor.ts). A malformed or forged cursor, an unknown state or provider, and a limit
 * outside 1..200 are a 400 bad_request.
 *
 * Paging rule: follow `nextCursor` until it is null. A page holds at most `limit` items and may hold
 * fewer (even none) while `nextCursor` is not null: a request reads at most LIST_READ_MAX stored
 * records, and the filters are applied to what it read.
 */
import type { Request, Response } from 'express';
import type { AppContext } from '../context.js';
import { badRequest } from '../errors.js';
import { CONNECTION_STATES, type ConnectionState, type ListQuery } from '../session/connections/index.js';
import { ListCursors } from '../session/listCursor.js';

const STATES: readonly string[] = CONNECTION_STATES;
export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 200;

/** A query parameter given at most once, as a string; a repeated or nested one is a 400. */
function one(req: Request, name: string): string | undefined {
  const v: unknown = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest(`${name} must be given once`);
  return v;
}

function limitOf(req: Request): number {
  const raw = one(req, 'limit');
  if (raw === undefined) return LIST_DEFAULT_LIMIT;
  const n = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= LIST_MAX_LIMIT)) throw badRequest(`limit must be an integer from 1 to ${LIST_MAX_LIMIT}`);
  return n;
}

function queryOf(ctx: AppContext, cursors: ListCursors, req: Request): ListQuery {
  const state = one(req, 'state');
  if (state !== undefined && !STATES.includes(state)) throw badRequest(`state must be one of ${STATES.join(', ')}`);
  const provider = one(req, 'provider');
  if (provider !== undefined && !ctx.providers.has(provider)) throw badRequest('provider is not a configured provider');
  const cursor = one(req, 'cursor');
  const after = cursor === undefined ? undefined : cursor.length <= 512 ? cursors.open(cursor) : undefined;
  if (cursor !== undefined && !after) throw badRequest('cursor is not one this service gave');
  return { state: state as ConnectionState | undefined, provider, after, limit: limitOf(req) };
}

export function listConnectionsRoute(ctx: AppContext) {
  const cursors = new ListCursors(ctx.config.session.secrets);
  return async function listConnections(req: Request, res: Response): Promise<void> {
    const page = await ctx.connections.list(queryOf(ctx, cursors, req));
    res.json({ data: page.items, nextCursor: page.next ? cursors.seal(page.next) : null });
  };
}

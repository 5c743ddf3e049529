/**
 * The list of the subjects' connections (GET /v1/connections): the store's pages of records whose
 * owner is a subject key, opened, filtered by state and provider, and mapped to list items.
 *
 * Filtering comes after the store's paging, so a store page can hold records the caller did not
 * ask for. A list page therefore reads on until it holds `limit` items or the store has no more,
 * but never more than LIST_READ_MAX records per request: a page that stops at that bound can hold
 * fewer than `limit` items (even none) and still have a next page. Its continuation key is then the
 * last record read, so the next page goes on from there.
 *
 * A listed connection reads as GET /v1/subjects/{sub}/connections reads it: an active one that a
 * back-channel logout named since it was made ends as it is listed (its `connection.ended` is sent
 * then) and is left out, as a read leaves it out.
 */
import type { Logger } from 'pino';
import type { ConnectionKey, ConnectionStore } from '../../store/types.js';
import type { Records, ConnectionRecord } from './record.js';

/** The most records one list request reads from the store (filtered out or not). */
export const LIST_READ_MAX = 1000;

/** The subjects' records: owner keys start with this (see session/subjects.ts). */
const SUBJECT_OWNER_PREFIX = 'sub.';

export type ConnectionState = 'connected' | 'reconnect_needed' | 'ended';
export const CONNECTION_STATES: readonly ConnectionState[] = ['connected', 'reconnect_needed', 'ended'];

export interface ListQuery {
  state?: ConnectionState;
  provider?: string;
  /** The continuation key of the page before. */
  after?: ConnectionKey;
  limit: number;
}

export interface ConnectionListItem {
  connectionId: string | null;
  subject: string;
  provider: string;
  state: ConnectionState;
  userId: string | null;
  scope: string | null;
  connectedAt: string;
  accessTokenExpiresAt: string | null;
  refreshTokenExpiresAt: string | null;
  lastRefreshedAt: string | null;
  reason: 'refresh_rejected' | 'access_expired' | 'refresh_expired' | null;
}

export interface ListPage {
  items: ConnectionListItem[];
  /** Where the next page starts after; absent when the store has no more. */
  next?: ConnectionKey;
}

/** `connected` while active; `ended` once the refresh token ran out; else the provider ended it: `reconnect_needed`. */
export function stateOf(rec: ConnectionRecord): ConnectionState {
  if (rec.status === 'active') return 'connected';
  return rec.endReason === 'refresh_expired' ? 'ended' : 'reconnect_needed';
}

const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());

function itemOf(subject: string, rec: ConnectionRecord): ConnectionListItem {
  const active = rec.status === 'active';
  const reason = rec.endReason === 'unreadable' ? null : (rec.endReason ?? null);
  return {
    connectionId: rec.connectionId ?? null,
    subject,
    provider: rec.provider,
    state: stateOf(rec),
    userId: rec.userId ?? null,
    scope: rec.scope ?? null,
    connectedAt: new Date(rec.connectedAt).toISOString(),
    accessTokenExpiresAt: active ? iso(rec.accessExpiresAt) : null,
    refreshTokenExpiresAt: active ? iso(rec.refreshExpiresAt) : null,
    lastRefreshedAt: iso(rec.lastRefreshedAt),
    reason: active ? null : reason,
  };
}

export interface ListDeps {
  store: ConnectionStore;
  records: Records;
  logger: Logger;
  /** The record as a read sees it: null when a back-channel logout has ended it (see BackChannel.read). */
  current: (owner: string, rec: ConnectionRecord) => Promise<ConnectionRecord | null>;
}

/** One list page (see the module comment for the read bound). Unreadable records are skipped, logged and counted. */
export async function listConnections(deps: ListDeps, q: ListQuery): Promise<ListPage> {
  const items: ConnectionListItem[] = [];
  let after = q.after;
  let read = 0;
  let skipped = 0;
  while (read < LIST_READ_MAX) {
    // With a filter, read ahead (fewer round trips); without one, every readable record is an item.
    const missing = q.limit - items.length;
    const want = Math.min(LIST_READ_MAX - read, q.state || q.provider ? Math.max(missing, 50) : missing);
    const batch = await deps.store.pageConnections({ ownerPrefix: SUBJECT_OWNER_PREFIX, after, limit: want });
    for (const stored of batch) {
      read += 1;
      after = { owner: stored.owner, provider: stored.provider };
      const opened = deps.records.openListed(stored.owner, stored.provider, stored.value);
      if (!opened?.subject) {
        skipped += 1;
        continue;
      }
      const rec = await deps.current(stored.owner, opened);
      if (!rec?.subject) continue; // ended by a back-channel logout just now
      if ((q.state && stateOf(rec) !== q.state) || (q.provider && rec.provider !== q.provider)) continue;
      items.push(itemOf(rec.subject, rec));
      if (items.length === q.limit) return done({ items, next: after }, skipped, deps.logger);
    }
    if (batch.length < want) return done({ items }, skipped, deps.logger);
  }
  return done({ items, next: after }, skipped, deps.logger);
}

function done(page: ListPage, skipped: number, logger: Logger): ListPage {
  if (skipped > 0) logger.warn({ skipped }, 'connection list: records that could not be opened were skipped');
  return page;
}

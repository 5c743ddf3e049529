/**
 * Ending a connection on purpose: the person's disconnect, the institution's (the service API,
 * the operator CLI), an erasure. The record goes, with its logout-index entries; an active one
 * reports `connection.ended` in the same store write and a `disconnected` audit line; the refresh
 * token is revoked at the provider where it offers revocation.
 *
 * `locked`: under the record's refresh lock, waited for up to the longest hold, then ended anyway
 * (an end is never refused). So a move of the record (relocate.ts transfer) in flight finishes
 * first and the end finds it where it went; a refresh in flight is revoked, not the token before it.
 */
import type { Audit } from '../../shared/audit.js';
import type { Provider } from '../../providers/types.js';
import type { Logger } from 'pino';
import type { ConnectionRecord } from './record.js';
import { revokeAtProvider } from './reconnect.js';
import { lockFor, type RelocateDeps } from './relocate.js';

export interface EndingDeps extends RelocateDeps {
  providers: Map<string, Provider>;
  logger: Logger;
  audit?: Audit;
}

export type EndReasonOfService = 'disconnected' | 'revoked_by_service';

/** What an end did: the record forgotten, whether the provider revoked its token, the `connection.ended` it queued. */
export interface Disconnected {
  record: ConnectionRecord;
  revoked: boolean;
  eventId?: string;
}

export async function disconnect(
  d: EndingDeps,
  owner: string,
  provider: string,
  reason: EndReasonOfService,
  locked: boolean,
): Promise<Disconnected | null> {
  const lock = locked ? await lockFor(d, owner, provider) : null;
  try {
    const { rec } = await d.backChannel.read(owner, provider);
    // A connection that had already ended was reported then; its tombstone goes without a second event.
    const event = rec?.status === 'active' ? d.records.event(owner, 'connection.ended', rec, reason) : undefined;
    const deleted = await d.store.deleteConnection(owner, provider, event);
    if (deleted) {
      d.records.written(event);
      if (rec) d.audit?.write('disconnected', { provider, owner, reason });
    }
    if (!rec) return null;
    await d.backChannel.unindex(owner, rec);
    const revoked = await revokeAtProvider(d, rec.provider, rec.refreshToken);
    return { record: rec, revoked, eventId: deleted ? event?.id : undefined };
  } finally {
    await lock?.release();
  }
}

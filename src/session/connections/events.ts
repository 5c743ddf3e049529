/**
 * The webhook events a connection change produces, built here so that the store can write each
 * one in the same atomic step as the change it reports (see AuthStore's `event` parameters).
 * The body is sealed like a token record: it names the subject. It never holds a token.
 */
import { randomBytes } from 'node:crypto';
import type { Sealer } from '../crypto.js';
import type { OutboxEvent } from '../../store/types.js';

export type EventType = 'connection.created' | 'connection.reconnected' | 'connection.ended';

/** Why the keeper cannot extend a connection that will end (`connection.expiring`). */
export type ExpiringReason = 'not_sliding' | 'keepalive_off' | 'refresh_failing';

/** Why a connection ended, as the webhook says it. */
export type EndedReason =
  'disconnected' | 'refresh_rejected' | 'refresh_expired' | 'revoked_by_service' | 'provider_logout';

/** The webhook body (Standard Webhooks: type, timestamp, data). */
export interface ConnectionEventBody {
  type: EventType;
  timestamp: string;
  data: {
    /** The connection's stable id (record.ts); null only for a record that has none. */
    connectionId: string | null;
    subject: string | null;
    provider: string;
    userId: string | null;
    scope: string | null;
    reason: EndedReason | null;
  };
}

/** What an event says of its connection (a ConnectionRecord has these fields: see record.ts). */
export interface EventSubject {
  provider: string;
  connectionId?: string;
  subject?: string;
  userId?: string;
  scope?: string;
}

export const eventAad = (id: string) => `outbox:${id}`;

/** A new outbox event for `rec` (owned by `owner`), sealed. `group` orders the events of one owner. */
export function connectionEvent(
  sealer: Sealer,
  now: number,
  owner: string,
  type: EventType,
  rec: EventSubject,
  reason: EndedReason | null,
): OutboxEvent {
  const id = `msg_${randomBytes(16).toString('base64url')}`;
  const body: ConnectionEventBody = {
    type,
    timestamp: new Date(now).toISOString(),
    data: {
      connectionId: rec.connectionId ?? null,
      subject: rec.subject ?? null,
      provider: rec.provider,
      userId: rec.userId ?? null,
      scope: rec.scope ?? null,
      reason,
    },
  };
  return { id, group: owner, value: sealer.seal(JSON.stringify(body), eventAad(id)), createdAt: now };
}

/** The body of `connection.expiring` (keeper.ts): the connection ends at `expiresAt` unless the person reconnects. */
export interface ExpiringEventBody {
  type: 'connection.expiring';
  timestamp: string;
  data: {
    /** The connection's stable id (record.ts); null only for a record that has none. */
    connectionId: string | null;
    subject: string | null;
    provider: string;
    userId: string | null;
    scope: string | null;
    expiresAt: string;
    reason: ExpiringReason;
  };
}

/** A new outbox event `connection.expiring` for `rec` of `owner`, sealed like every event. */
export function expiringEvent(
  sealer: Sealer,
  now: number,
  owner: string,
  rec: EventSubject,
  expiresAt: number,
  reason: ExpiringReason,
): OutboxEvent {
  const id = `msg_${randomBytes(16).toString('base64url')}`;
  const body: ExpiringEventBody = {
    type: 'connection.expiring',
    timestamp: new Date(now).toISOString(),
    data: {
      connectionId: rec.connectionId ?? null,
      subject: rec.subject ?? null,
      provider: rec.provider,
      userId: rec.userId ?? null,
      scope: rec.scope ?? null,
      expiresAt: new Date(expiresAt).toISOString(),
      reason,
    },
  };
  return { id, group: owner, value: sealer.seal(JSON.stringify(body), eventAad(id)), createdAt: now };
}

/** The body of a stored event, or undefined when it cannot be opened (a removed key, tampering). */
export function openEvent(sealer: Sealer, e: Pick<OutboxEvent, 'id' | 'value'>): string | undefined {
  return sealer.open(e.value, eventAad(e.id));
}

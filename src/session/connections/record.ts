/**
 * A stored connection record (checked field by field when read back), a new one made at login,
 * the view pages may see of it, and Records: opening and sealing a record (AES-GCM under its owner
 * and provider, with a cache of opened values), how long the store keeps it, and the webhook event
 * of a change to it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { TokenResponse } from '../../shared/tokens.js';
import type { Sealer } from '../crypto.js';
import type { AuthStore, OutboxEvent } from '../../store/types.js';
import { isSubjectKey } from '../subjects.js';
import { type EndedReason, type EventType, connectionEvent } from './events.js';

export type EndReason = NonNullable<ConnectionRecord['endReason']>;

/** A stored connection, checked field by field when it is read back. */
export const connectionSchema = z.object({
  v: z.literal(1),
  provider: z.string().max(32),
  status: z.enum(['active', 'ended']),
  version: z.number().int().nonnegative(),
  /** The connection's stable id (`conn_` + 22 base64url characters): kept by a reconnect, new for a new connection. */
  connectionId: z.string().max(64).optional(),
  /** The institution's user id, for a connection made through a link (see session/subjects.ts). Absent: bound to one browser session. */
  subject: z.string().max(128).optional(),
  userId: z.string().max(256).optional(),
  scope: z.string().max(4096).optional(),
  claims: z.record(z.string(), z.string()).optional(),
  accessToken: z.string().optional(),
  refreshToken: z.string().optional(),
  idToken: z.string().optional(),
  /** The provider's session id from the login's ID token (`sid`), which a back-channel logout names. */
  sid: z.string().max(256).optional(),
  accessExpiresAt: z.number().optional(),
  refreshExpiresAt: z.number().optional(),
  connectedAt: z.number(),
  /** When the login that made it was started (its transaction, this server's clock): see BackChannel.loggedOut() in logoutIndex.ts. */
  loginStartedAt: z.number().optional(),
  lastRefreshedAt: z.number().optional(),
  refreshFailures: z.number().int().nonnegative(),
  nextRefreshAt: z.number().optional(),
  endedAt: z.number().optional(),
  endReason: z.enum(['refresh_rejected', 'refresh_expired', 'access_expired', 'unreadable']).optional(),
  /**
   * Whether a refresh extends the refresh token's life, learned from the last refresh (the new
   * refresh token's expiry against the old one's); absent until a refresh has told (keeper.ts).
   */
  slides: z.boolean().optional(),
  /** The refresh-token expiry `connection.expiring` was sent for (keeper.ts): sent once per expiry. */
  expiryWarnedFor: z.number().optional(),
});

export type ConnectionRecord = z.infer<typeof connectionSchema>;

/** What pages and /api/session may see: never a token. */
export interface ConnectionView {
  provider: string;
  /** The connection's stable id; absent when there is none (never connected, unreadable). */
  connectionId?: string;
  connected: boolean;
  /** Why not connected: never connected, the provider ended it, or it is temporarily unreachable. */
  reason?: 'not_connected' | EndReason | 'provider_unavailable';
  userId?: string;
  scope?: string;
  claims?: Record<string, string>;
  accessTokenExpiresAt?: string;
  refreshTokenExpiresAt?: string;
  connectedAt?: string;
  lastRefreshedAt?: string;
  /** Set when the last refresh failed transiently and the current token is still in use. */
  refreshDeferredUntil?: string;
}

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

/**
 * What pages and /api/session see of `rec`, but whether it is usable right now. Records are never
 * mutated (every change builds a new one) and an opened record is the same object for as long as
 * its stored value stays (Records.open), so this is built once per stored value.
 */
const views = new WeakMap<ConnectionRecord, Omit<ConnectionView, 'connected'>>();

function stableView(provider: string, rec: ConnectionRecord): Omit<ConnectionView, 'connected'> {
  let view = views.get(rec);
  if (view?.provider === provider) return view;
  const base = {
    provider,
    connectionId: rec.connectionId,
    userId: rec.userId,
    scope: rec.scope,
    claims: rec.claims,
    connectedAt: iso(rec.connectedAt || undefined),
  };
  view =
    rec.status === 'ended'
      ? { ...base, reason: rec.endReason }
      : {
          ...base,
          accessTokenExpiresAt: iso(rec.accessExpiresAt),
          refreshTokenExpiresAt: iso(rec.refreshExpiresAt),
          lastRefreshedAt: iso(rec.lastRefreshedAt),
          refreshDeferredUntil: rec.refreshFailures > 0 ? iso(rec.nextRefreshAt) : undefined,
        };
  views.set(rec, view);
  return view;
}

/** What pages and /api/session see of `rec`; `usable`: whether it holds an access token that is still good. */
export function viewOf(provider: string, rec: ConnectionRecord, usable: boolean): ConnectionView {
  return { ...stableView(provider, rec), connected: rec.status === 'ended' ? false : usable };
}

/** A new connection id: random and opaque, 128 bits. */
export const newConnectionId = (): string => `conn_${randomBytes(16).toString('base64url')}`;

/**
 * The id of a record stored before connection ids existed: derived from where it is stored and
 * when it was made, so every read agrees on it until the first write stores it with the record.
 */
export function legacyConnectionId(owner: string, provider: string, connectedAt: number): string {
  const h = createHash('sha256').update(`connection-id:${owner}:${provider}:${connectedAt}`).digest();
  return `conn_${h.subarray(0, 16).toString('base64url')}`;
}

/**
 * The record of a new connection, made from a login's token set: active, version 1, connected at
 * `connectedAt`; `subject` for a linked login, and when its transaction was started.
 */
export function newRecord(
  provider: string,
  t: TokenResponse,
  made: { subject?: string; loginStartedAt?: number; connectedAt: number; connectionId?: string },
): ConnectionRecord {
  return {
    v: 1,
    provider,
    status: 'active',
    version: 1,
    connectionId: made.connectionId ?? newConnectionId(),
    subject: made.subject,
    userId: t.userId,
    scope: t.scope,
    claims: t.claims,
    accessToken: t.accessToken,
    refreshToken: t.refreshToken,
    idToken: t.idToken,
    sid: t.sid,
    accessExpiresAt: t.accessExpiresAt,
    refreshExpiresAt: t.refreshExpiresAt,
    connectedAt: made.connectedAt,
    loginStartedAt: made.loginStartedAt,
    refreshFailures: 0,
  };
}

/** How many opened records are kept (about 2 kB each). */
const OPENED_CACHE_SIZE = 2000;

/** The longest any record is kept (a subject's connection without a known refresh-token expiry). */
export const MAX_RECORD_MS = 400 * 86_400_000;

export interface RecordOptions {
  store: AuthStore;
  sealer: Sealer;
  logger: Logger;
  now: () => number;
  /** The longest a session-bound connection is kept without its session being seen (see ConnectionOptions). */
  maxTtlMs: number;
  /** A tombstone ("the connection ended") is kept this long so the person is told why. */
  tombstoneMs?: number;
  /** Write a webhook event to the outbox with every connection that starts or ends. */
  webhooks?: boolean;
  /** Told after an event has been stored. */
  onEvent?: () => void;
}

export class Records {
  private readonly warnedUnreadable = new Set<string>();
  /** Stored values already opened (see open()), oldest first. */
  private readonly opened = new Map<string, { aad: string; rec: ConnectionRecord }>();

  constructor(private readonly opts: RecordOptions) {}

  private aad(owner: string, provider: string): string {
    return `connection:${owner}:${provider}`;
  }

  /** The stored record as it is, without the logout check. */
  async readStored(owner: string, provider: string): Promise<{ rec: ConnectionRecord | null; blob: string }> {
    const blob = await this.opts.store.getConnection(owner, provider);
    if (blob === null) return { rec: null, blob: '' };
    return { rec: this.open(owner, provider, blob), blob };
  }

  /** The record a stored value holds (read by a page of the list), or null when it cannot be opened (logged). */
  openListed(owner: string, provider: string, blob: string): ConnectionRecord | null {
    const rec = this.open(owner, provider, blob);
    return rec.endReason === 'unreadable' ? null : rec;
  }

  /**
   * The record a stored value holds. Opening (AES-GCM, JSON, the schema) is done once per stored
   * value: the result is kept, keyed by the exact ciphertext *and* the record's key, so a value
   * copied under another owner or provider is opened (and refused) afresh. The same ciphertext
   * under the same key is the same authenticated plaintext, so nothing is trusted that was not
   * checked once. Records are never mutated (every change builds a new one).
   */
  private open(owner: string, provider: string, blob: string): ConnectionRecord {
    const aad = this.aad(owner, provider);
    const cached = this.opened.get(blob);
    if (cached && cached.aad === aad) return cached.rec;
    const plain = this.opts.sealer.open(blob, aad);
    if (plain !== undefined) {
      try {
        const parsed = connectionSchema.safeParse(JSON.parse(plain));
        if (parsed.success && parsed.data.provider === provider) {
          const rec = parsed.data.connectionId
            ? parsed.data
            : { ...parsed.data, connectionId: legacyConnectionId(owner, provider, parsed.data.connectedAt) };
          if (this.opened.size >= OPENED_CACHE_SIZE) this.opened.delete(this.opened.keys().next().value!);
          this.opened.set(blob, { aad, rec });
          return rec;
        }
      } catch {
        /* fall through */
      }
    }
    // A key was removed, the record was tampered with, or it has a shape or version this code
    // does not know: not connected. Logged once per record.
    const key = `${owner}:${provider}`;
    if (!this.warnedUnreadable.has(key)) {
      this.warnedUnreadable.add(key);
      if (this.warnedUnreadable.size > 10_000) this.warnedUnreadable.clear();
      this.opts.logger.warn(
        { provider },
        'a stored connection could not be read (decryption, shape or version); treating it as not connected',
      );
    }
    return { v: 1, provider, status: 'ended', version: 0, connectedAt: 0, refreshFailures: 0, endReason: 'unreadable' };
  }

  /** How long the store keeps `rec` of `owner`: its tokens' lifetime plus the tombstone, within the owner's cap. */
  ttlFor(owner: string, rec: ConnectionRecord): number {
    const now = this.opts.now();
    const tomb = this.opts.tombstoneMs ?? 86_400_000;
    const cap = isSubjectKey(owner) ? MAX_RECORD_MS : this.opts.maxTtlMs;
    const until =
      rec.status === 'ended'
        ? now
        : (rec.refreshExpiresAt ?? (rec.refreshToken ? now + cap : (rec.accessExpiresAt ?? now + cap)));
    return Math.max(1000, Math.min(until - now, cap) + tomb);
  }

  /**
   * Where `rec` of `owner` goes in the store's expiry index (the keeper's): an active subject's
   * connection with a refresh token of known expiry, at that expiry; anything else is not indexed (null).
   */
  dueOf(owner: string, rec: ConnectionRecord): number | null {
    const indexed = rec.status === 'active' && isSubjectKey(owner) && !!rec.refreshToken;
    return indexed && rec.refreshExpiresAt !== undefined ? rec.refreshExpiresAt : null;
  }

  seal(owner: string, rec: ConnectionRecord): string {
    return this.opts.sealer.seal(JSON.stringify(rec), this.aad(owner, rec.provider));
  }

  /** After a write that stored `event`: this process's delivery worker starts at once (others find it on their next round). */
  written(event: OutboxEvent | undefined): void {
    if (event) this.opts.onEvent?.();
  }

  /** The outbox event for a change of `rec`, when webhooks are on. */
  event(
    owner: string,
    type: EventType,
    rec: ConnectionRecord,
    reason: EndedReason | null = null,
  ): OutboxEvent | undefined {
    if (!this.opts.webhooks) return undefined;
    return connectionEvent(this.opts.sealer, this.opts.now(), owner, type, rec, reason);
  }
}

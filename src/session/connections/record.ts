/** A stored connection record (checked field by field when read back) and the view pages may see. */
import { z } from 'zod';

export type EndReason = NonNullable<ConnectionRecord['endReason']>;

/** A stored connection, checked field by field when it is read back. */
export const connectionSchema = z.object({
  v: z.literal(1),
  provider: z.string().max(32),
  status: z.enum(['active', 'ended']),
  version: z.number().int().nonnegative(),
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
  /** When the login that made it was started (its transaction, this server's clock): see Connections.loggedOut(). */
  loginStartedAt: z.number().optional(),
  lastRefreshedAt: z.number().optional(),
  refreshFailures: z.number().int().nonnegative(),
  nextRefreshAt: z.number().optional(),
  endedAt: z.number().optional(),
  endReason: z.enum(['refresh_rejected', 'refresh_expired', 'access_expired', 'unreadable']).optional(),
});

export type ConnectionRecord = z.infer<typeof connectionSchema>;

/** What pages and /api/session may see: never a token. */
export interface ConnectionView {
  provider: string;
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

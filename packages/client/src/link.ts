/**
 * Link URLs: `/auth/{provider}/login?link=<JWT>`, the JWT signed HS256 with LINK_SECRET and holding
 * the contract's LinkClaims, as the app verifies them (src/auth/link.ts): `aud` the origin of the
 * app's PUBLIC_URL, `exp` a minute ahead unless `expiresIn` says otherwise (the app accepts at most
 * 10 minutes, and tolerates 30 s of clock difference on top), a random `jti` (a link works once), `iat` (needed once a subject was ended: a link issued
 * before that is refused), and `returnTo` when given. The header carries the key's `kid` (see
 * linkKid), so the app, which may hold several LINK_SECRETs during a rotation, knows which verifies it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { SUBJECT } from './paths.js';
import type { LinkClaims } from './types.js';

/**
 * A link's life unless `expiresIn` says otherwise: a minute. A link for a user who is already
 * connected hands the browser that opens it that user's connection, so mint it just before use.
 */
export const LINK_LIFETIME_S = 60;
/** The longest life the app accepts for a link. */
export const LINK_MAX_LIFETIME_S = 600;
const PROVIDER = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export interface MintLinkOptions {
  /** The institution's user id: 1 to 128 of `A-Z a-z 0-9 . _ : @ -`. */
  sub: string;
  /**
   * Where the person goes afterwards: a path on xt-connect's site, or a URL on one of its
   * EMBED_ORIGINS (your page); default `/account`. Always signed into the link, so whoever holds a
   * link cannot send the person elsewhere with `?returnTo=`.
   */
  returnTo?: string;
  /**
   * Ask for a reconnection: adds the claim `reconnect: true`. The person is sent to the provider
   * even while connected, and the subject's connection is renewed in place (same `connectionId`,
   * webhook `connection.reconnected`); approved as another account there, nothing is replaced
   * (`reconnect_other_account`). For a subject with no connection it is an ordinary connect.
   */
  reconnect?: boolean;
  /** The provider to connect (`/auth/{provider}/login`); default `xt`. */
  provider?: string;
  /** Seconds the link stays valid: 1 to 600 (LINK_MAX_LIFETIME_S); default 60 (LINK_LIFETIME_S). */
  expiresIn?: number;
}

/**
 * The `kid` of a link key, as the app works it out for each of its LINK_SECRETs: the first 16
 * characters of base64url(SHA-256("xt-connect-link-kid-v1:" ‖ secret)).
 */
export function linkKid(secret: string | Uint8Array): string {
  return createHash('sha256').update('xt-connect-link-kid-v1:').update(secret).digest('base64url').slice(0, 16);
}

/** Signs the link for `opts` with `secret`, meant for the app at `publicUrl`; returns the login URL. */
export async function mintLink(publicUrl: URL, secret: Uint8Array, opts: MintLinkOptions): Promise<string> {
  if (typeof opts.sub !== 'string' || !SUBJECT.test(opts.sub))
    throw new TypeError('sub must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (and not "." or "..")');
  const life = opts.expiresIn ?? LINK_LIFETIME_S;
  if (!Number.isInteger(life) || life < 1 || life > LINK_MAX_LIFETIME_S)
    throw new TypeError(`expiresIn must be a whole number of seconds from 1 to ${LINK_MAX_LIFETIME_S}`);
  const provider = opts.provider ?? 'xt';
  if (!PROVIDER.test(provider)) throw new TypeError('provider must be a provider id such as "xt"');
  if (opts.returnTo !== undefined && typeof opts.returnTo !== 'string')
    throw new TypeError('returnTo must be a string');
  const now = Math.floor(Date.now() / 1000);
  const claims: Omit<LinkClaims, 'sub' | 'aud' | 'exp' | 'jti'> & { reconnect?: true } = {};
  claims.returnTo = opts.returnTo ?? '/account';
  if (opts.reconnect === true) claims.reconnect = true;
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: linkKid(secret) })
    .setSubject(opts.sub)
    .setAudience(publicUrl.origin)
    .setIssuedAt(now)
    .setExpirationTime(now + life)
    .setJti(randomUUID())
    .sign(secret);
  const base = publicUrl.href.replace(/\/+$/, '');
  return `${base}/auth/${provider}/login?link=${jwt}`;
}

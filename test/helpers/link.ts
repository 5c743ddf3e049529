/** Link tokens as an institution's backend mints them (jose, HS256), and the settings that turn links on. */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Env } from '../../src/config/index.js';
import { BASE_ENV } from './harness.js';

export const LINK_SECRET = 'test-link-secret-0123456789abcdef-ABCDEF';

export const linkEnv = (extra: Env = {}): Env => ({ LINK_SECRET, ...extra });

export interface LinkOptions {
  /** Default: PUBLIC_URL of BASE_ENV. */
  aud?: string;
  /** Seconds from now; default 300. */
  expIn?: number;
  jti?: string | null;
  /** Seconds from now for `iat`; default 0; null: no `iat`. */
  iatIn?: number | null;
  returnTo?: string;
  /** The `reconnect` claim: renew the subject's connection in place. */
  reconnect?: boolean;
  secret?: string;
  /** The header's `kid` (a rotation of LINK_SECRET); default none, as tokens minted before kids. */
  kid?: string;
}

/** A link token for `sub`, signed like the example in docs/integration.md. */
export async function linkToken(sub: string, opts: LinkOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    ...(opts.returnTo !== undefined ? { returnTo: opts.returnTo } : {}),
    ...(opts.reconnect !== undefined ? { reconnect: opts.reconnect } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...(opts.kid !== undefined ? { kid: opts.kid } : {}) })
    .setSubject(sub)
    .setAudience(opts.aud ?? new URL(BASE_ENV.PUBLIC_URL!).origin)
    .setExpirationTime(now + (opts.expIn ?? 300));
  if (opts.iatIn !== null) jwt.setIssuedAt(now + (opts.iatIn ?? 0));
  if (opts.jti !== null) jwt.setJti(opts.jti ?? randomUUID());
  return jwt.sign(new TextEncoder().encode(opts.secret ?? LINK_SECRET));
}

/** An unsigned token (`alg: none`) with otherwise valid claims: must always be refused. */
export function unsignedLinkToken(sub: string): string {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { sub, aud: new URL(BASE_ENV.PUBLIC_URL!).origin, exp: now + 300, iat: now, jti: randomUUID() };
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

/**
 * Links from the institution's site: `/auth/{provider}/login?link=<JWT>`, signed with HS256 under
 * LINK_SECRET. A valid link binds the browser session to the institution's user (the subject), so
 * the connection made next belongs to that user rather than to this browser.
 *
 * A link is refused (link_invalid, 400) before anything else happens, with no transaction and no
 * trip to the provider, when: it is not a compact JWS; its signature or algorithm is not HS256
 * under LINK_SECRET (`alg: none` included); `aud` is not PUBLIC_URL's origin; `exp` is missing,
 * past, or more than 10 minutes ahead; `sub` is not 1 to 128 of `[A-Za-z0-9._:@-]`; `jti` is
 * missing; or that `jti` was used before (kept, hashed, in the shared store until the link expires).
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { jwtVerify } from 'jose';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { queryString } from '../http/params.js';
import { safeReturnTo } from '../http/returnTo.js';
import { regenerateSession } from '../session/middleware.js';
import { ensureOwner } from '../session/owner.js';
import { isSubject } from '../session/subjects.js';

/** The longest a link may live. */
export const LINK_MAX_LIFETIME_S = 600;
/** Clock difference tolerated between the institution's servers and ours. */
export const LINK_CLOCK_TOLERANCE_S = 30;
const MAX_LINK_LENGTH = 4096;

export interface Link {
  /** The institution's user id. */
  subject: string;
  /** Its opaque key, the owner of its connections. */
  key: string;
  /** Where to send the person afterwards (the token's `returnTo`, checked like ?returnTo=). */
  returnTo?: string;
}

const invalid = (provider: string, reason: string) => new AppError('link_invalid', { provider, detail: { reason } });

interface LinkClaims {
  sub: string;
  jti: string;
  exp: number;
  returnTo?: string;
}

/** Signature, algorithm and every claim; throws link_invalid. Spends nothing. */
async function verifyLinkToken(ctx: AppContext, provider: string, token: string): Promise<LinkClaims> {
  const secret = new TextEncoder().encode(ctx.config.link!.secret);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      audience: ctx.config.publicUrl.origin,
      requiredClaims: ['sub', 'exp', 'jti'],
      clockTolerance: LINK_CLOCK_TOLERANCE_S,
      currentDate: new Date(ctx.now()),
    }));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw invalid(provider, typeof code === 'string' ? code.slice(0, 64) : 'unverifiable');
  }
  const { sub, jti, exp, returnTo } = payload;
  if (!isSubject(sub)) throw invalid(provider, 'bad sub');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalid(provider, 'bad jti');
  if (typeof exp !== 'number' || exp > ctx.now() / 1000 + LINK_MAX_LIFETIME_S + LINK_CLOCK_TOLERANCE_S) throw invalid(provider, 'exp too far ahead');
  if (returnTo !== undefined && typeof returnTo !== 'string') throw invalid(provider, 'bad returnTo');
  return { sub, jti, exp, returnTo };
}

/** Spends the link's `jti` in the store every replica shares: true for the first use only. */
async function spendOnce(ctx: AppContext, claims: LinkClaims): Promise<boolean> {
  const id = createHash('sha256').update(claims.jti).digest('base64url');
  const ttlMs = Math.max(1000, (claims.exp + LINK_CLOCK_TOLERANCE_S) * 1000 - ctx.now());
  return ctx.stores.authState.markOnce(`link-jti:${id}`, ttlMs);
}

/**
 * Binds the session to `key` with a new session id. The same subject keeps the session's private
 * owner id (its other tabs' pending logins); anything else gets a new one, so nothing of the
 * previous person or subject carries over: two subjects are never merged.
 */
async function bindSession(ctx: AppContext, req: Request, key: string): Promise<void> {
  const same = req.session.subject === key;
  const unboundOwner = req.session.subject === undefined ? req.session.owner : undefined;
  await regenerateSession(req, { owner: same ? 'keep' : 'new', subject: key });
  ensureOwner(req);
  // Connections this browser made on its own before the link would be left behind, unreachable:
  // end them (revoking at the provider) rather than keep their tokens.
  if (unboundOwner) for (const id of ctx.providers.keys()) await ctx.connections.disconnect(unboundOwner, id);
}

/** The `link` parameter; a repeated, over-long or garbled one is an invalid link, not a bad request. */
function linkParam(req: Request, provider: string): string | undefined {
  try {
    return queryString(req, 'link', MAX_LINK_LENGTH);
  } catch {
    throw invalid(provider, 'malformed parameter');
  }
}

/**
 * The link of this login, checked, spent and bound to the session; undefined when the request
 * has none (refused with link_required when LINK_REQUIRED). Throws link_invalid for a bad one.
 */
export async function acceptLink(ctx: AppContext, req: Request, provider: string): Promise<Link | undefined> {
  const link = ctx.config.link;
  const token = link ? linkParam(req, provider) : undefined;
  if (!link || token === undefined) {
    if (link?.required) throw new AppError('link_required', { provider });
    return undefined;
  }
  const claims = await verifyLinkToken(ctx, provider, token);
  if (!(await spendOnce(ctx, claims))) throw invalid(provider, 'used');
  const key = ctx.subjects.ownerOf(claims.sub);
  await bindSession(ctx, req, key);
  return { subject: claims.sub, key, returnTo: claims.returnTo === undefined ? undefined : safeReturnTo(claims.returnTo) };
}

/**
 * Links from the institution's site: `/auth/{provider}/login?link=<JWT>`, signed with HS256 under
 * LINK_SECRET. A valid link binds the browser session to the institution's user (the subject), so
 * the connection made next belongs to that user rather than to this browser.
 *
 * A link is refused (link_invalid, 400) before anything else happens, with no transaction and no
 * trip to the provider, when: it is not a compact JWS; its signature or algorithm is not HS256
 * under LINK_SECRET (`alg: none` included; under the key its `kid` names, or any listed key when it
 * has none: see linkKeys.ts); `aud` is not PUBLIC_URL's origin; `exp` is missing,
 * past, or more than 10 minutes ahead; `sub` is not 1 to 128 of `[A-Za-z0-9._:@-]`; `jti` is
 * missing; or that `jti` was used before (kept, hashed, in the shared store until the link expires).
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { queryString } from '../http/params.js';
import { safeReturnTo } from '../http/returnTo.js';
import { regenerateSession } from '../session/middleware.js';
import { ensureOwner } from '../session/owner.js';
import { isSubject } from '../session/subjects.js';
import { linkKeysFor } from './linkKeys.js';

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
  /** Where to send the person afterwards (the token's `returnTo`, checked like ?returnTo=: a path, or a URL on EMBED_ORIGINS). */
  returnTo?: string;
  /** The subject's binding epoch this session is bound under (session/bindings.ts): a login must land in it. */
  epoch: string;
  /** True when a link token was spent for this request (not an earlier binding of the session). */
  fromToken?: true;
  /** The token's `reconnect: true`: renew the subject's connection in place (see storeConnection.ts). */
  reconnect?: true;
}

const invalid = (provider: string, reason: string) => new AppError('link_invalid', { provider, detail: { reason } });
/** A link that was genuine, but has run out or was spent: the person needs a fresh one, not a fix. */
const expired = (provider: string, reason: string) => new AppError('link_expired', { provider, detail: { reason } });

interface LinkClaims {
  sub: string;
  jti: string;
  exp: number;
  iat?: number;
  returnTo?: string;
  reconnect?: boolean;
}

/**
 * The payload, verified under the first of `keys` whose signature matches (a token without `kid`
 * is tried under each LINK_SECRET); throws link_invalid, or link_expired for a genuine one past `exp`.
 */
async function verifiedPayload(
  ctx: AppContext,
  provider: string,
  token: string,
  keys: Uint8Array[],
): Promise<Record<string, unknown>> {
  const { jwtVerify } = await import('jose'); // loaded on the first link, not at start
  for (const [i, key] of keys.entries()) {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        audience: ctx.config.server.publicUrl.origin,
        requiredClaims: ['sub', 'exp', 'jti'],
        clockTolerance: LINK_CLOCK_TOLERANCE_S,
        currentDate: new Date(ctx.now()),
      });
      return payload;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' && i < keys.length - 1) continue; // the next key
      // jose checks the signature before the claims: an expired token here was signed with our key.
      if (code === 'ERR_JWT_EXPIRED') throw expired(provider, code);
      throw invalid(provider, typeof code === 'string' ? code.slice(0, 64) : 'unverifiable');
    }
  }
  throw invalid(provider, 'unverifiable'); // unreachable: keys is never empty
}

/** Signature, algorithm and every claim; throws link_invalid. Spends nothing. */
async function verifyLinkToken(ctx: AppContext, provider: string, token: string): Promise<LinkClaims> {
  const keys = linkKeysFor(ctx.config.integration.link!.secrets, token);
  if (keys.length === 0) throw invalid(provider, 'unknown kid');
  const payload = await verifiedPayload(ctx, provider, token, keys);
  const { sub, jti, exp, iat, returnTo, reconnect } = payload;
  if (!isSubject(sub)) throw invalid(provider, 'bad sub');
  if (iat !== undefined && (typeof iat !== 'number' || iat > ctx.now() / 1000 + LINK_CLOCK_TOLERANCE_S))
    throw invalid(provider, 'iat in the future');
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalid(provider, 'bad jti');
  if (typeof exp !== 'number' || exp > ctx.now() / 1000 + LINK_MAX_LIFETIME_S + LINK_CLOCK_TOLERANCE_S)
    throw invalid(provider, 'exp too far ahead');
  if (returnTo !== undefined && typeof returnTo !== 'string') throw invalid(provider, 'bad returnTo');
  if (reconnect !== undefined && typeof reconnect !== 'boolean') throw invalid(provider, 'bad reconnect');
  return { sub, jti, exp, iat, returnTo, reconnect };
}

/**
 * Whether `token` was signed for us by the institution: HS256 under LINK_SECRET with `aud` our
 * origin, whatever its other claims say (it may be expired, spent, or refused for its subject).
 * Spends nothing. A forged token, another algorithm or another audience: false.
 */
export async function isGenuineLink(ctx: AppContext, token: string): Promise<boolean> {
  const link = ctx.config.integration.link;
  if (!link) return false;
  const { compactVerify } = await import('jose');
  for (const key of linkKeysFor(link.secrets, token)) {
    try {
      const { payload } = await compactVerify(token, key, { algorithms: ['HS256'] });
      const aud = (JSON.parse(new TextDecoder().decode(payload)) as { aud?: unknown } | null)?.aud;
      const ours = ctx.config.server.publicUrl.origin;
      return aud === ours || (Array.isArray(aud) && aud.includes(ours));
    } catch {
      // another key, or not ours
    }
  }
  return false;
}

/**
 * A link minted before its subject was last ended (DELETE /v1/subjects/{sub}) belongs to the
 * bindings that ended: an offboarded user must not bind and connect again with a link kept from
 * before. Judged by `iat`, in whole seconds: a link whose second of issue was over before the end
 * is refused; one issued in the very second of the end is given the benefit of the doubt (an
 * institution that links the user again at once). A subject that was ever ended takes only links
 * that carry `iat`.
 */
async function mintedBeforeEnd(ctx: AppContext, key: string, claims: LinkClaims): Promise<boolean> {
  const endedAt = await ctx.bindings.endedAt(key);
  return endedAt > 0 && (claims.iat === undefined || (claims.iat + 1) * 1000 <= endedAt);
}

/** Spends the link's `jti` in the store every replica shares: true for the first use only. */
async function spendOnce(ctx: AppContext, claims: LinkClaims): Promise<boolean> {
  const id = createHash('sha256').update(claims.jti).digest('base64url');
  const ttlMs = Math.max(1000, (claims.exp + LINK_CLOCK_TOLERANCE_S) * 1000 - ctx.now());
  return ctx.stores.authState.markOnce(`link-jti:${id}`, ttlMs);
}

/** The raw subject, sealed into the session (which the store keeps in clear) and bound to its key. */
export const subjectAad = (key: string) => `session-subject:${key}`;

/**
 * Binds the session to `key` with a new session id. The same subject keeps the session's private
 * owner id (its other tabs' pending logins); anything else gets a new one, so nothing of the
 * previous subject carries over: two subjects are never merged. A link never ends anything either
 * (it may come from anywhere, as a plain GET): connections this browser made on its own move with
 * it, hidden while it is bound, and back in view once it is not (see logout in handlers.ts).
 */
async function bindSession(ctx: AppContext, req: Request, subject: string, key: string): Promise<string> {
  const same = req.session.subject === key;
  const previous = req.session.owner;
  const epoch = await ctx.bindings.forNewBinding(key);
  await regenerateSession(req, { owner: same ? 'keep' : 'new', subject: key });
  const owner = ensureOwner(req);
  req.session.subjectSeal = ctx.sealer.seal(subject, subjectAad(key));
  req.session.subjectEpoch = epoch;
  if (previous && previous !== owner) await ctx.connections.moveOwner(previous, owner);
  return epoch;
}

/**
 * The subject this session was bound to by an earlier link, so that the app's own Connect and
 * Reconnect buttons (a login without a link) connect that subject, not the hidden session. A
 * binding whose subject has been ended since was already cleared (auth/binding.ts).
 */
function boundSubject(ctx: AppContext, req: Request): Link | undefined {
  const key = req.session?.subject;
  const seal = req.session?.subjectSeal;
  if (!key || !seal) return undefined;
  const subject = ctx.sealer.open(seal, subjectAad(key));
  // Any subject key's (SUBJECT_KEYS rotates): a binding made under an older key stays bound.
  const ok = subject !== undefined && isSubject(subject) && ctx.subjects.ownersOf(subject).includes(key);
  return ok ? { subject, key, epoch: req.session.subjectEpoch ?? '' } : undefined;
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
 * The subject of this login: the link's, checked, spent and bound to the session; or, without a
 * link, the one the session is already bound to; undefined for a plain login (refused with
 * link_required when LINK_REQUIRED). Throws link_invalid for a malformed or forged link, link_expired
 * for a genuine one that ran out or was used.
 */
export async function acceptLink(ctx: AppContext, req: Request, provider: string): Promise<Link | undefined> {
  const link = ctx.config.integration.link;
  if (!link) return undefined;
  const token = linkParam(req, provider);
  if (token === undefined) {
    const bound = boundSubject(ctx, req);
    if (!bound && link.required) throw new AppError('link_required', { provider });
    return bound;
  }
  const claims = await verifyLinkToken(ctx, provider, token);
  const key = await ctx.subjectMoves.resolve(claims.sub); // moved to the newest SUBJECT_KEYS key first
  if (await mintedBeforeEnd(ctx, key, claims)) throw expired(provider, 'minted before the subject was ended');
  if (!(await spendOnce(ctx, claims))) throw expired(provider, 'used');
  const epoch = await bindSession(ctx, req, claims.sub, key);
  return {
    subject: claims.sub,
    key,
    epoch,
    fromToken: true,
    ...(claims.reconnect === true ? { reconnect: true as const } : {}),
    returnTo:
      claims.returnTo === undefined
        ? undefined
        : safeReturnTo(claims.returnTo, undefined, ctx.config.integration.embedOrigins),
  };
}

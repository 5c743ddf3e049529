/**
 * OpenID Connect Back-Channel Logout 1.0: `POST /auth/{provider}/backchannel-logout`, form-encoded
 * `logout_token`, called by the provider itself (server to server) when a person's session there
 * ends. Mounted before the session middleware: it reads no cookie, sets none, and needs no form
 * token (app.ts). Steps:
 *  1. the token, checked by the provider module (signature against the JWKS, iss, aud, iat, exp,
 *     events, no nonce, sid and/or sub, jti; asymmetric algorithms only);
 *  2. its `jti`, which must not have been seen (kept in the shared store until the token expires);
 *  3. every connection the token names ends (Connections.endByProviderLogout), on every replica;
 *  4. the `jti` is spent.
 * The answer is 200 (Cache-Control: no-store) or 400 with a JSON error. A store or JWKS that cannot
 * answer is tried again briefly; if it still cannot, the answer is 503 with Retry-After (the token
 * may be good, so a 400 would be wrong; the provider may send it again).
 */
import { createHash } from 'node:crypto';
import { type NextFunction, type Request, type Response, Router, urlencoded } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import type { Provider } from '../providers/types.js';

export const backchannelLogoutPath = (provider: string) => `/auth/${provider}/backchannel-logout`;

/** How long a store that cannot answer is tried again before the provider is told to come back later. */
export const BACKCHANNEL_RETRY_MS = 3000;
const MAX_MARK_MS = 30 * 86_400_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function refuse(res: Response, description: string): void {
  res.status(400).set('Cache-Control', 'no-store').json({ error: 'invalid_request', error_description: description });
}

function unavailable(res: Response, e: AppError): void {
  res
    .status(503)
    .set({ 'Cache-Control': 'no-store', 'Retry-After': String(e.retryAfterSec ?? 5) })
    .json({
      error: 'temporarily_unavailable',
      error_description: 'the logout could not be completed now; send it again later',
    });
}

/** A failure that is nobody's fault and passes: a store or the provider's JWKS briefly away. */
const transient = (err: unknown): err is AppError =>
  err instanceof AppError &&
  ['store_unavailable', 'provider_down', 'provider_unavailable', 'provider_timeout'].includes(err.code);

/** Runs `fn`, again (with a short back-off) while it fails transiently, for up to BACKCHANNEL_RETRY_MS. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + BACKCHANNEL_RETRY_MS;
  for (let wait = 100; ; wait = Math.min(wait * 2, 800)) {
    try {
      return await fn();
    } catch (err) {
      if (!transient(err) || Date.now() + wait > giveUpAt) throw err;
      await sleep(wait);
    }
  }
}

function logoutToken(req: Request): string | undefined {
  const body = req.body as Record<string, unknown> | undefined;
  const token = body && typeof body === 'object' ? body.logout_token : undefined;
  return typeof token === 'string' ? token : undefined;
}

function backchannelLogout(ctx: AppContext) {
  return async function providerLogout(req: Request, res: Response, next: NextFunction): Promise<void> {
    const provider: Provider | undefined = ctx.providers.get(String(req.params.provider));
    if (!provider?.verifyLogoutToken) return next(); // not a provider that sends logout tokens: 404 further on
    const verify = provider.verifyLogoutToken.bind(provider);
    const token = logoutToken(req);
    if (token === undefined) return refuse(res, 'logout_token is required');
    try {
      const check = await retrying(() => verify(token));
      if (!check.ok) {
        ctx.logger.info({ provider: provider.id, reason: check.reason }, 'a back-channel logout token was refused');
        ctx.audit.write('logout_token_refused', { provider: provider.id, reason: check.reason });
        return refuse(res, `logout_token refused: ${check.reason}`);
      }
      const mark = `bcl-jti:${provider.id}:${createHash('sha256').update(check.jti, 'utf8').digest('base64url')}`;
      const ttlMs = Math.min(MAX_MARK_MS, Math.max(1000, check.expiresAt - ctx.now()));
      const outcome = await retrying(async () => {
        if (await ctx.stores.authState.hasMark(mark)) return 'replayed';
        // Ending is idempotent, so the jti is spent only after it: a store that fails half-way leaves the token good for a retry.
        const ended = await ctx.connections.endByProviderLogout(provider.id, { sid: check.sid, sub: check.sub });
        return (await ctx.stores.authState.markOnce(mark, ttlMs)) ? ended : 'replayed';
      });
      if (outcome === 'replayed') {
        ctx.logger.info(
          { provider: provider.id, reason: 'jti already used' },
          'a back-channel logout token was refused',
        );
        ctx.audit.write('logout_token_refused', { provider: provider.id, reason: 'jti already used' });
        return refuse(res, 'logout_token refused: jti already used');
      }
      const named =
        check.sid !== undefined && check.sub !== undefined ? 'sid+sub' : check.sid !== undefined ? 'sid' : 'sub';
      ctx.logger.info({ provider: provider.id, named, ended: outcome }, 'back-channel logout');
      ctx.audit.write('logout_token_accepted', { provider: provider.id, reason: named });
      res.status(200).set('Cache-Control', 'no-store').end();
    } catch (err) {
      const e = err instanceof AppError ? err : new AppError('internal');
      if (e.code === 'internal') ctx.logger.error({ err, provider: provider.id }, 'a back-channel logout failed');
      else
        ctx.logger.warn(
          { provider: provider.id, code: e.code, detail: e.detail },
          'a back-channel logout could not be completed now',
        );
      unavailable(res, e);
    }
  };
}

/** A body the parser refused (too large, badly encoded): the token's fault, so 400 like any bad token. */
function bodyRefused(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return refuse(res, 'the request body could not be read');
  next(err);
}

/** Mounted before the session middleware (no cookie, no CSRF token: the provider calls it). */
export function backchannelRouter(ctx: AppContext): Router {
  const r = Router();
  const path = backchannelLogoutPath(':provider');
  r.post(path, urlencoded({ extended: false, limit: '32kb', parameterLimit: 10 }), backchannelLogout(ctx), bodyRefused);
  return r;
}

import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { newCsrfToken } from '../shared/crypto.js';
import { providerStatuses, setStatusFor } from './providerStatus.js';

/**
 * The form token a page's script sends as X-CSRF-Token (POST and DELETE on /api/xt). Null without
 * a session: nobody is connected then, and an anonymous call creates no session.
 */
function csrfTokenFor(req: Request): string | null {
  if (!req.session?.owner) return null;
  req.session.csrf ??= newCsrfToken();
  return req.session.csrf;
}

/** GET /api/session: the connection state as JSON, and the form token for script calls. Never a token. */
export function apiRouter(ctx: AppContext): Router {
  const r = Router();

  r.get('/api/session', async function sessionState(req: Request, res: Response) {
    const statuses = await providerStatuses(ctx, req);
    const providers = Object.fromEntries(
      statuses.map(({ id, view }) => [
        id,
        {
          connected: view.connected,
          reason: view.connected ? undefined : view.reason,
          userId: view.userId ?? null,
          scope: view.scope ?? null,
          accessTokenExpiresAt: view.accessTokenExpiresAt ?? null,
          refreshTokenExpiresAt: view.refreshTokenExpiresAt ?? null,
          lastRefreshedAt: view.lastRefreshedAt ?? null,
          claims: view.claims,
        },
      ]),
    );
    const first =
      statuses.find((s) => s.view.connected) ?? statuses.find((s) => s.view.reason !== 'not_connected') ?? statuses[0];
    const status = setStatusFor(res, statuses).statusCode;
    res.json({
      connected: statuses.some((s) => s.view.connected),
      provider: first?.view.connected ? first.id : null,
      userId: first?.view.connected ? (first.view.userId ?? null) : null,
      scope: first?.view.connected ? (first.view.scope ?? null) : null,
      accessTokenExpiresAt: first?.view.connected ? (first.view.accessTokenExpiresAt ?? null) : null,
      reason: first && !first.view.connected ? first.view.reason : undefined,
      csrfToken: csrfTokenFor(req),
      ...(status === 503 ? { error: { code: 'provider_down', next: 'retry' } } : {}),
      providers,
    });
  });

  return r;
}

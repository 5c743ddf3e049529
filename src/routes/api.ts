import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { providerStatuses, setStatusFor } from './providerStatus.js';

/** GET /api/session: the connection state as JSON. Never a token. */
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
    const first = statuses.find((s) => s.view.connected) ?? statuses.find((s) => s.view.reason !== 'not_connected') ?? statuses[0];
    const status = setStatusFor(res, statuses).statusCode;
    res.json({
      connected: statuses.some((s) => s.view.connected),
      provider: first?.view.connected ? first.id : null,
      userId: first?.view.connected ? (first.view.userId ?? null) : null,
      scope: first?.view.connected ? (first.view.scope ?? null) : null,
      accessTokenExpiresAt: first?.view.connected ? (first.view.accessTokenExpiresAt ?? null) : null,
      reason: first && !first.view.connected ? first.view.reason : undefined,
      ...(status === 503 ? { error: { code: 'provider_down', next: 'retry' } } : {}),
      providers,
    });
  });

  return r;
}

/**
 * The account page's Reconnect button (POST /auth/{provider}/reconnect, CSRF-protected like
 * Disconnect): a login for the browser's own connection (the subject its session is bound to, else
 * its private owner id) that renews that connection in place when it comes back: same subject,
 * same connection id, `connection.reconnected` (see storeConnection.ts). Approved at the provider as
 * another user, nothing is replaced (reconnect_other_account). With no connection stored, it is an
 * ordinary connect. A link token with `reconnect: true` does the same for a subject (link.ts).
 */
import type { Request, Response } from 'express';
import type { AppContext } from '../context.js';
import { sendToProvider, usableProvider } from './handlers.js';
import { acceptLink } from './link.js';

export function reconnect(ctx: AppContext) {
  return async function startReconnect(req: Request, res: Response): Promise<void> {
    const provider = await usableProvider(ctx, req);
    const link = await acceptLink(ctx, req, provider.id); // a form carries no link: the session's binding, if any
    await sendToProvider(ctx, req, res, provider, { returnTo: '/account', link, reconnect: true });
  };
}

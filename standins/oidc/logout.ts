/**
 * CIAM's own logout (not RP-initiated logout): GET /logout?client_id&logout_redirect_uri&state
 * ends the portal session and goes back to the registered address, with `state`.
 */
import type { Request, Response } from 'express';
import type { OidcState } from './state.js';

export function ciamLogout(state: OidcState) {
  const { clients, postLogoutRedirectUris } = state.settings;
  return (req: Request, res: Response): void => {
    state.calls.logout += 1;
    const clientId = typeof req.query.client_id === 'string' ? req.query.client_id : '';
    const back = typeof req.query.logout_redirect_uri === 'string' ? req.query.logout_redirect_uri : '';
    if (!clients.some((c) => c.clientId === clientId) || !postLogoutRedirectUris.includes(back)) {
      res.status(400).type('text/plain').send('invalid client_id or logout_redirect_uri');
      return;
    }
    const url = new URL(back);
    if (typeof req.query.state === 'string') url.searchParams.set('state', req.query.state);
    res.redirect(302, url.toString());
  };
}

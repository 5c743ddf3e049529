/**
 * The CIAM stand-in's sign-in and consent step, where oidc-provider hands over (/interaction/:uid):
 * the page, then Approve (sign-in and consent in one step) or Deny, back to oidc-provider.
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { signInPage } from './pages.js';
import type { OidcState } from './state.js';

const wrap =
  (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);

export function interactionRouter(state: OidcState): Router {
  const r = Router();
  r.get(
    '/interaction/:uid',
    wrap((req, res) => showSignIn(state, req, res)),
  );
  // Sign-in and consent in one step: the stand-in has one user, and "Approve" grants what was asked.
  r.post(
    '/interaction/:uid/approve',
    express.urlencoded({ extended: false, limit: '4kb' }),
    wrap((req, res) => approve(state, req, res)),
  );
  r.post(
    '/interaction/:uid/deny',
    wrap((req, res) => deny(state, req, res)),
  );
  return r;
}

async function showSignIn(state: OidcState, req: Request, res: Response): Promise<void> {
  const details = await state.provider.interactionDetails(req, res);
  res.set('Cache-Control', 'no-store').send(signInPage(details, state.settings.account, req.get('accept-language')));
}

async function approve(state: OidcState, req: Request, res: Response): Promise<void> {
  const { account } = state.settings;
  const details = await state.provider.interactionDetails(req, res);
  const clientId = String(details.params.client_id);
  const grant =
    (details.grantId ? await state.provider.Grant.find(details.grantId) : undefined) ??
    new state.provider.Grant({ accountId: account.sub, clientId });
  grant.addOIDCScope(typeof details.params.scope === 'string' ? details.params.scope : 'openid');
  const missingClaims = details.prompt.details.missingOIDCClaims;
  if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims as string[]);
  const grantId = await grant.save();
  // The first level asked for in acr_values is the one "reached" (the stand-in has one way to sign in).
  const acr = typeof details.params.acr_values === 'string' ? details.params.acr_values.split(' ')[0] : undefined;
  await state.provider.interactionFinished(
    req,
    res,
    { login: { accountId: account.sub, ...(acr ? { acr } : {}) }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

async function deny(state: OidcState, req: Request, res: Response): Promise<void> {
  await state.provider.interactionFinished(
    req,
    res,
    { error: 'access_denied', error_description: 'End-User aborted interaction' },
    { mergeWithLastSubmission: false },
  );
}

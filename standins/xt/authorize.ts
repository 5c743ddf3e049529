/**
 * The XT.COM stand-in's authorization step: GET /{lang}/accounts/oauth2 shows the page, its form
 * posts the decision (a single-use code, or access_denied, back to the redirect_uri); and the
 * registration page the demo's "Create one" link opens.
 */
import { randomBytes } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { authorizePage, invalidRequestPage, pageLang, registerPage } from './pages.js';
import type { XtState } from './state.js';

export function authorizeRouter(state: XtState): Router {
  const r = Router();
  r.get('/:lang/accounts/oauth2', (req, res) => showAuthorize(state, req, res));
  // XT.COM's registration page (XT_REGISTER_URL): the demo's "Create one" link stays in the sandbox.
  r.get('/:lang/accounts/register', (req, res) => {
    res.send(registerPage(pageLang(String(req.params.lang)), state.options.userId));
  });
  r.post('/:lang/accounts/oauth2/decision', (req, res) => decide(state, req, res));
  return r;
}

function showAuthorize(state: XtState, req: Request, res: Response): void {
  const { options } = state;
  const q = req.query as Record<string, string | undefined>;
  const valid =
    q.response_type === 'code' &&
    q.client_id === options.clientId &&
    typeof q.redirect_uri === 'string' &&
    /^https?:\/\//.test(q.redirect_uri) &&
    (options.redirectUris.length === 0 || options.redirectUris.includes(q.redirect_uri));
  const lang = pageLang(String(req.params.lang));
  if (!valid) {
    res.status(400).send(invalidRequestPage(lang));
    return;
  }
  res.send(authorizePage(lang, String(req.params.lang), q, options));
}

function decide(state: XtState, req: Request, res: Response): void {
  const { options } = state;
  const b = req.body as Record<string, string>;
  if (b.client_id !== options.clientId || !/^https?:\/\//.test(b.redirect_uri ?? '')) {
    res.status(400).send('bad request');
    return;
  }
  const target = new URL(b.redirect_uri!);
  if (b.decision === 'approve') {
    const code = randomBytes(16).toString('hex');
    state.issued.push(code);
    // A stand-in-only field lets benchmarks and tests approve as many different people.
    const userId = typeof b.as_user === 'string' && /^\d{1,12}$/.test(b.as_user) ? b.as_user : options.userId;
    state.codes.set(code, {
      userId,
      scope: b.scope || 'userinfo',
      clientId: b.client_id,
      redirectUri: b.redirect_uri!,
      expiresAt: state.now() + 5 * 60_000,
    });
    target.searchParams.set('code', code);
  } else {
    target.searchParams.set('error', 'access_denied');
  }
  if (b.state) target.searchParams.set('state', b.state);
  res.redirect(302, target.toString());
}

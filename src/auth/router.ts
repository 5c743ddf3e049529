import { type Request, Router, urlencoded } from 'express';
import type { AppContext } from '../context.js';
import { requireCsrf } from '../http/csrf.js';
import { authRateLimit } from '../http/rateLimit.js';
import { spanned } from '../http/tracing.js';
import { callback, login, logout } from './handlers.js';
import { reportFailedPopupLogin } from './popup.js';
import { reconnect } from './reconnect.js';

export function authRouter(ctx: AppContext): Router {
  const r = Router();
  r.use('/auth', authRateLimit(ctx));
  r.get('/auth/:provider/login', spanned('auth.login', login(ctx)));
  r.use('/auth/:provider/login', reportFailedPopupLogin(ctx)); // after the rate limit and the login: their errors
  r.get('/auth/:provider/callback', spanned('auth.callback', callback(ctx)));
  const provider = (req: Request) => ctx.providers.get(String(req.params.provider))?.id;
  r.post(
    '/auth/:provider/logout',
    urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }),
    requireCsrf(ctx.config.server.publicUrl.origin, 'form', provider),
    logout(ctx),
  );
  // The account page's Reconnect button: a form with the session's token, like Disconnect.
  r.post(
    '/auth/:provider/reconnect',
    urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }),
    requireCsrf(ctx.config.server.publicUrl.origin, 'form', provider),
    reconnect(ctx),
  );
  return r;
}

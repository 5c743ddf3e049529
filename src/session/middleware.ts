/** express-session wiring: cookie flags, and promise helpers for regenerate/save. */
import type { Request, RequestHandler } from 'express';
import session from 'express-session';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { newCsrfToken } from '../shared/crypto.js';
import type { Stores } from './stores/types.js';
import { throttleTouch } from './touchThrottle.js';

export function sessionCookieName(config: Config): string {
  // The __Host- prefix pins the cookie to our exact origin (Secure, Path=/, no Domain).
  return config.secureCookies ? '__Host-xtc' : 'xtc.sid';
}

export function createSessionMiddleware(config: Config, stores: Stores): RequestHandler {
  const mw = session({
    name: sessionCookieName(config),
    secret: config.sessionSecret,
    store: throttleTouch(stores.sessions),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    // Never delete a session as a side effect: with 'destroy', a request whose session could not be
    // read (req.session unset) deleted the stored session on its way out.
    unset: 'keep',
    // The scheme people see is PUBLIC_URL's. When it is https the cookie is Secure even though
    // TLS usually ends at a proxy in front of us; see markSecure below.
    proxy: config.secureCookies ? true : undefined,
    cookie: {
      httpOnly: true,
      sameSite: 'lax', // Strict would drop the cookie on the way back from the provider
      secure: config.secureCookies,
      path: '/',
      maxAge: config.sessionTtlMs,
    },
  });
  return function loadSession(req, res, next) {
    if (config.secureCookies) req.headers['x-forwarded-proto'] = 'https'; // fixed by configuration, not by the client
    // A store that cannot answer is a 503 the person can retry, never a 500.
    // express-session calls back again when saving or touching at the end of the response fails;
    // by then the answer is on its way, and passing it on would reach Express's final handler,
    // which prints it and destroys the (keep-alive) socket. So it goes on once; later ones are logged.
    let called = false;
    mw(req, res, (err?: unknown) => {
      if (called) {
        if (err) req.log?.warn({ code: toStoreError(err).code }, 'session could not be saved after the response');
        return;
      }
      called = true;
      next(err ? toStoreError(err) : undefined);
    });
  };
}

/**
 * New session id (defeats fixation). With `owner: 'keep'` (the default) the private owner id
 * carries over; with `owner: 'new'` the new session gets a fresh one (at login, see rotateOwner
 * in auth/). The subject binding carries over unless `subject` names a new one (a link, in auth/).
 */
export function regenerateSession(req: Request, opts: { owner?: 'keep' | 'new'; subject?: string } = {}): Promise<void> {
  const owner = (opts.owner ?? 'keep') === 'keep' ? req.session.owner : undefined;
  const subject = opts.subject ?? req.session.subject;
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => {
      if (err) return reject(toStoreError(err));
      if (owner !== undefined) req.session.owner = owner;
      if (subject !== undefined) req.session.subject = subject;
      req.session.csrf = newCsrfToken();
      resolve();
    }),
  );
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(toStoreError(err)) : resolve())));
}

function toStoreError(err: unknown): AppError {
  return err instanceof AppError ? err : new AppError('store_unavailable');
}

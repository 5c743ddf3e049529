/** express-session wiring: cookie flags, and promise helpers for regenerate/save. */
import type { Request, RequestHandler } from 'express';
import session from 'express-session';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { AppError } from '../errors.js';
import { newCsrfToken } from '../shared/crypto.js';
import type { Sealer } from './crypto.js';
import { type SealedSessionsGrace, sealSessions } from './sealedSessions.js';
import type { Stores } from '../store/types.js';
import { throttleTouch } from './touchThrottle.js';

export function sessionCookieName(config: Config): string {
  // The __Host- prefix pins the cookie to our exact origin (Secure, Path=/, no Domain).
  return config.server.secureCookies ? '__Host-xtc' : 'xtc.sid';
}

/** What the session layer tells the connections about (see app.ts). */
export interface SessionLifecycle {
  /**
   * A session was stored or its expiry moved: the connections of its private owner id follow it
   * (they end when it ends). A subject's connections never do: they are not the session's.
   */
  stored(owner: string, expiresAt: number): void;
  /** A session reached SESSION_MAX_AGE: its own connections go with it. */
  ended(owner: string): void;
}

/** How the session record is protected in the store (sealedSessions.ts). */
export interface SessionSealing {
  sealer: Sealer;
  grace: Pick<SealedSessionsGrace, 'acceptUnsealed'>;
}

/**
 * The store, seen through three wrappers: records sealed and bound to their session id
 * (sealedSessions.ts), each write of a session with connections of its own told to
 * `lifecycle.stored`, and touches at most once a minute (touchThrottle.ts).
 */
function sessionStore(
  stores: Stores,
  lifecycle: SessionLifecycle | undefined,
  sealing: SessionSealing | undefined,
): session.Store {
  // Sealed innermost, next to the store; followed next, throttled on top: a touch the throttle
  // skips (the store's expiry does not move) moves no connection either.
  if (sealing) sealSessions(stores.sessions, sealing.sealer, sealing.grace);
  if (lifecycle) followWrites(stores.sessions, lifecycle);
  return throttleTouch(stores.sessions);
}

/** Tells `lifecycle` about each session write the store has accepted (set, touch), and only then. */
function followWrites(store: session.Store, lifecycle: SessionLifecycle): void {
  const follow = (sess: session.SessionData) => {
    const expires = sess.cookie?.expires ? new Date(sess.cookie.expires).getTime() : NaN;
    if (sess.owner && Number.isFinite(expires)) lifecycle.stored(sess.owner, expires);
  };
  // Told after the store has it, and only then.
  const then = (sess: session.SessionData, cb?: (err?: unknown) => void) => (err?: unknown) => {
    if (!err) follow(sess);
    cb?.(err);
  };
  const set = store.set.bind(store);
  store.set = (sid, sess, cb) => set(sid, sess, then(sess, cb));
  const touch = store.touch?.bind(store);
  // Stores call touch's callback with an error too, whatever express-session's types say.
  if (touch) store.touch = (sid, sess, cb) => touch(sid, sess, then(sess, cb));
}

export function createSessionMiddleware(
  config: Config,
  stores: Stores,
  opts: { lifecycle?: SessionLifecycle; logger?: Logger; sealing?: SessionSealing } = {},
): RequestHandler {
  const { lifecycle, logger, sealing } = opts;
  const mw = session({
    name: sessionCookieName(config),
    // Newest first: the first signs new cookies, every one verifies (SESSION_SECRET's rotation).
    secret: config.session.secrets,
    store: sessionStore(stores, lifecycle, sealing),
    resave: false,
    saveUninitialized: false,
    // The cookie is renewed when it is older than a tenth of SESSION_IDLE_TTL (see pastMaxAge), not
    // re-signed and re-sent on every response; the store's expiry still rolls with every touch.
    rolling: false,
    // Never delete a session as a side effect: with 'destroy', a request whose session could not be
    // read (req.session unset) deleted the stored session on its way out.
    unset: 'keep',
    // The scheme people see is PUBLIC_URL's. When it is https the cookie is Secure even though
    // TLS usually ends at a proxy in front of us; loadSession below fixes the scheme it sees.
    proxy: config.server.secureCookies ? true : undefined,
    cookie: {
      httpOnly: true,
      sameSite: 'lax', // Strict would drop the cookie on the way back from the provider
      secure: config.server.secureCookies,
      path: '/',
      maxAge: config.session.idleTtlMs,
    },
  });
  return function loadSession(req, res, next) {
    if (config.server.secureCookies) req.headers['x-forwarded-proto'] = 'https'; // fixed by configuration, not by the client
    // A store that cannot answer is a 503 the person can retry, never a 500.
    // express-session calls back again when saving or touching at the end of the response fails;
    // by then the answer is on its way, and passing it on would reach Express's final handler,
    // which prints it and destroys the (keep-alive) socket. So it goes on once; later ones are logged.
    let called = false;
    mw(req, res, (err?: unknown) => {
      if (called) {
        if (err)
          logger?.warn(
            { code: toStoreError(err).code, reqId: req.id },
            'session could not be saved after the response',
          );
        return;
      }
      called = true;
      if (err) return next(toStoreError(err));
      if (!pastMaxAge(req, config)) return next();
      startOver(req, lifecycle).then(() => next(), next);
    });
  };
}

/** The browser's cookie is renewed once it is older than this fraction of SESSION_IDLE_TTL. */
export const RENEW_FRACTION = 0.1;

/**
 * SESSION_MAX_AGE: whether this session is older than that (counted from its login). A younger
 * one's cookie never outlives it (SESSION_IDLE_TTL, rolling, but not past the max age), and is
 * renewed once older than RENEW_FRACTION of SESSION_IDLE_TTL. Synchronous: every request runs it.
 */
function pastMaxAge(req: Request, config: Config): boolean {
  if (req.session?.owner !== undefined && req.session.startedAt === undefined) {
    // A session stored before SESSION_MAX_AGE existed: its max age counts from now.
    req.session.startedAt = Date.now();
  }
  const startedAt = req.session?.startedAt;
  if (startedAt === undefined) return false;
  const now = Date.now();
  const left = startedAt + config.session.maxAgeMs - now;
  const pending = req.session.pendingUntil;
  if (pending !== undefined) {
    // Only pending logins: stored no longer than they live; past that, a fresh start.
    req.session.cookie.maxAge = Math.min(pending - now, left);
    return req.session.cookie.maxAge <= 0;
  }
  if (left <= 0) return true;
  req.session.cookie.maxAge = Math.min(config.session.idleTtlMs, left);
  // Renewal: a changed session is saved and its cookie sent again, with the expiry just set.
  const issued = req.session.cookieRenewedAt ?? startedAt;
  if (now - issued >= config.session.idleTtlMs * RENEW_FRACTION) req.session.cookieRenewedAt = now;
  return false;
}

/**
 * Called as a login begins: a session that holds nothing that must last (no owner id yet, so no
 * connection; no binding; no notice) is stored only as long as its pending logins, `ttlMs` from
 * now, and so is its cookie. The next regeneration (a completed login, a link) gives it back the
 * full SESSION_IDLE_TTL, as regenerated sessions start with the configured cookie.
 */
export function expireWithPendingLogins(req: Request, ttlMs: number): void {
  const s = req.session;
  const lasting =
    s.owner !== undefined || s.subject !== undefined || s.notice !== undefined || s.logoutReturn !== undefined;
  if (lasting && s.pendingUntil === undefined) return;
  s.pendingUntil = Date.now() + ttlMs;
  s.cookie.maxAge = ttlMs;
}

/** A session past its max age (or its pending logins' end) starts over, empty, and its own connections end with it. */
async function startOver(req: Request, lifecycle: SessionLifecycle | undefined): Promise<void> {
  const owner = req.session.owner;
  await new Promise<void>((resolve, reject) =>
    req.session.regenerate((err) => (err ? reject(toStoreError(err)) : resolve())),
  );
  if (owner) lifecycle?.ended(owner);
}

/**
 * New session id (defeats fixation). With `owner: 'keep'` (the default) the private owner id
 * carries over; with `owner: 'new'` the new session gets a fresh one (at login, see rotateOwner
 * in auth/). The subject binding carries over unless `subject` names a new one (a link, in auth/)
 * or is null (the binding ends).
 */
export function regenerateSession(
  req: Request,
  opts: { owner?: 'keep' | 'new'; subject?: string | null } = {},
): Promise<void> {
  const keep = (opts.owner ?? 'keep') === 'keep';
  const owner = keep ? req.session.owner : undefined;
  // A new owner id is a login: SESSION_MAX_AGE counts from now.
  const startedAt = keep ? req.session.startedAt : Date.now();
  const subject = opts.subject === null ? undefined : (opts.subject ?? req.session.subject);
  const subjectSeal = opts.subject === undefined ? req.session.subjectSeal : undefined;
  const subjectEpoch = opts.subject === undefined ? req.session.subjectEpoch : undefined;
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => {
      if (err) return reject(toStoreError(err));
      if (owner !== undefined) req.session.owner = owner;
      if (startedAt !== undefined) req.session.startedAt = startedAt;
      if (subject !== undefined) req.session.subject = subject;
      if (subject !== undefined && subjectSeal !== undefined) req.session.subjectSeal = subjectSeal;
      if (subject !== undefined && subjectEpoch !== undefined) req.session.subjectEpoch = subjectEpoch;
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

/**
 * The gate in front of every signed user API of the XT.COM stand-in: it logs the request, plays
 * an injected failure, checks the validate-* signature (xt/signCheck.ts), then the `access-token`,
 * then XT.COM's per-user and per-IP limits, answering as XT.COM would when one says no.
 */
import type { Request, RequestHandler, Response } from 'express';
import { envelope } from './envelope.js';
import { checkSignature } from './signCheck.js';
import type { ApiLogEntry, XtUserApiOptions, XtUserApiState } from '../xtUser.js';

export const MAX_RECORDED = 20_000;

/** Records a value for the tests' secret scans (a junk signature of a few characters would match anything: skipped). */
export const remember = (list: string[], v: string | undefined) => {
  if (v === undefined || v.length < 16) return;
  list.push(v);
  if (list.length > MAX_RECORDED) list.splice(0, list.length - MAX_RECORDED);
};

/** Sliding logs: at no moment more than `max` accepted in the preceding `windowMs`. */
class SlidingLimits {
  private readonly logs = new Map<string, number[]>();
  /** Ms until a slot frees up, or 0 when the call is taken (and counted). */
  take(key: string, max: number, windowMs: number, now: number): number {
    const log = (this.logs.get(key) ?? []).filter((t) => now - t < windowMs);
    if (log.length >= max) {
      this.logs.set(key, log);
      return windowMs - (now - log[0]!);
    }
    log.push(now);
    this.logs.set(key, log);
    return 0;
  }
}

/** The gate; a request it lets through carries `res.locals.userId` and `res.locals.body` (the raw body). */
export function apiGate(
  o: XtUserApiOptions,
  state: XtUserApiState,
  verifyToken: (token: string | undefined) => Promise<string | undefined>,
  clock: () => number,
): RequestHandler {
  const limits = new SlidingLimits();
  return async function gate(req: Request, res: Response, next) {
    const entry = logRequest(state, req, res);
    if (o.apiDelayMs > 0) await new Promise((d) => setTimeout(d, o.apiDelayMs));
    if (injectFailure(state, o, res)) return;

    const rawBody = typeof req.body === 'string' ? req.body : '';
    const checked = checkSignature(req, rawBody, o, clock());
    remember(state.signatures, checked.signature);
    remember(state.signedStrings, checked.signedString);
    const answer = (status: number, mc: string) => {
      entry.mc = mc;
      res.status(status).json(envelope(1, mc));
    };
    if (checked.mc) return answer(o.authFailureStatus, checked.mc);

    const userId = o.refuseAccessTokens ? undefined : await verifyToken(req.get('access-token'));
    if (!userId) return answer(401, 'TOKEN_INVALID');
    entry.userId = userId;

    if (overLimit(limits, o, req, entry.path, userId)) {
      entry.mc = 'TOO_MANY_REQUESTS';
      if (o.retryAfterSec !== null) res.set('Retry-After', String(o.retryAfterSec));
      res.status(429).type('text').send('Too Many Requests');
      return;
    }
    res.locals.userId = userId;
    res.locals.body = rawBody;
    entry.mc = 'SUCCESS';
    next();
  };
}

/** Counts the call and adds it to the API log; its status is filled in when the answer is sent. */
function logRequest(state: XtUserApiState, req: Request, res: Response): ApiLogEntry {
  state.calls.api++;
  const entry: ApiLogEntry = {
    at: Date.now(),
    method: req.method,
    path: req.originalUrl.split('?')[0] ?? '',
    status: 0,
    mc: '',
  };
  state.log.push(entry);
  if (state.log.length > MAX_RECORDED) state.log.shift();
  res.on('finish', () => {
    entry.status = res.statusCode;
  });
  return entry;
}

/** True when the call is over XT.COM's limits: per user (assets or other APIs, per second) or per IP (per minute). */
function overLimit(limits: SlidingLimits, o: XtUserApiOptions, req: Request, path: string, userId: string): boolean {
  const asset = /^\/spot\/v4\/balances?$/.test(path);
  const now = Date.now();
  const wait = Math.max(
    limits.take(
      `user:${userId}:${asset ? 'asset' : 'other'}`,
      asset ? o.assetLimitPerSec : o.otherLimitPerSec,
      1000,
      now,
    ),
    limits.take(`ip:${req.socket.remoteAddress}`, o.ipLimitPerMin, 60_000, now),
  );
  return wait > 0;
}

/** The next injected failure, if any; true when it answered. */
function injectFailure(state: XtUserApiState, o: XtUserApiOptions, res: Response): boolean {
  const f = state.failures.shift();
  if (!f) return false;
  if (f === 'http500') res.status(500).json(envelope(1, 'FAILURE'));
  else if (f === 'html502') res.status(502).type('html').send('<html>bad gateway</html>');
  else if (f === 'rate429') {
    if (o.retryAfterSec !== null) res.set('Retry-After', String(o.retryAfterSec));
    res.status(429).type('text').send('Too Many Requests');
  } else if (f === 'notjson') res.status(200).type('html').send('<html><body>maintenance</body></html>');
  else if (f === 'huge' || f === 'large') {
    const size = f === 'huge' ? 1024 * 1024 + 16 : 900 * 1024;
    res
      .status(200)
      .type('json')
      .send(`{"rc":0,"mc":"SUCCESS","ma":[],"result":{"pad":"${'x'.repeat(size)}"}}`);
  } else {
    const t = setTimeout(() => {
      state.hanging.delete(t);
      if (!res.headersSent) res.status(504).send('<html>timeout</html>');
    }, o.hangMs);
    state.hanging.add(t);
  }
  return true;
}

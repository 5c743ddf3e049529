/**
 * The XT.COM stand-in's user APIs (provider notes, "Calling user APIs with the token"):
 *  - GET /v4/public/time, unsigned, from the stand-in's own clock (which tests can shift);
 *  - every other route checks the validate-* signature (xtSignCheck.ts) in the style set by its
 *    own option, then the `access-token`, then XT.COM's per-user limits (3/s for assets,
 *    10/s otherwise, 1000/min per IP), answering 429 over them;
 *  - the documented spot endpoints, with orders kept in memory per user (xtOrders.ts).
 * Every signature and signed string it sees is recorded, so tests can search logs for them.
 */
import { randomBytes } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import { ASSETS, Book } from './xtOrders.js';
import { type SignCheckOptions, checkSignature } from './xtSignCheck.js';

/** `large` is no failure: a valid answer of about 900 kB (under the client's 1 MB cap). */
export type XtApiFailure = 'http500' | 'html502' | 'rate429' | 'timeout' | 'huge' | 'large' | 'notjson';

/** What tests and the demo may set (all optional on startXtStandIn; see userApiDefaults). */
export interface XtUserApiSettings extends SignCheckOptions {
  /** The stand-in's clock is its `now()` plus this (a test shifts XT.COM's clock against the app's). */
  clockShiftMs: number;
  /** /v4/public/time reports this much more than the clock the signature check uses (a lying endpoint). */
  timeEndpointSkewMs: number;
  /** The HTTP status of an AUTH_ answer (XT.COM documents rc/mc, not the status). */
  authFailureStatus: number;
  assetLimitPerSec: number;
  otherLimitPerSec: number;
  ipLimitPerMin: number;
  /** Retry-After on the stand-in's own 429s, in seconds; null: none. */
  retryAfterSec: number | null;
  /** Delay every user API answer (ms). */
  apiDelayMs: number;
  /** Refuse every access token (401), even freshly refreshed ones. */
  refuseAccessTokens: boolean;
  /**
   * The envelope every JSON answer comes in (token endpoint, user APIs, server time): `rc` is
   * `{rc, mc, ma, result}`; `returnCode` is `{returnCode, msgInfo, error: {code, msg}, result}`.
   */
  envelopeShape: 'rc' | 'returnCode';
}

export interface XtUserApiOptions extends XtUserApiSettings {
  hangMs: number;
  now: () => number;
}

/** The defaults: the client id and secret sign (as XT.COM's example does), method style, XT.COM's limits. */
export function userApiDefaults(
  o: Partial<XtUserApiSettings> & { clientId?: string; clientSecret?: string },
): XtUserApiSettings {
  return {
    apiKey: o.apiKey ?? o.clientId ?? 'demo-client',
    apiSecret: o.apiSecret ?? o.clientSecret ?? 'demo-secret',
    signStyle: o.signStyle ?? 'method',
    clockShiftMs: o.clockShiftMs ?? 0,
    timeEndpointSkewMs: o.timeEndpointSkewMs ?? 0,
    apiKeyActive: o.apiKeyActive ?? true,
    boundIps: o.boundIps ?? [],
    readOnlyKey: o.readOnlyKey ?? false,
    stripHeaders: o.stripHeaders ?? [],
    authFailureStatus: o.authFailureStatus ?? 200,
    assetLimitPerSec: o.assetLimitPerSec ?? 3,
    otherLimitPerSec: o.otherLimitPerSec ?? 10,
    ipLimitPerMin: o.ipLimitPerMin ?? 1000,
    retryAfterSec: o.retryAfterSec === undefined ? null : o.retryAfterSec,
    apiDelayMs: o.apiDelayMs ?? 0,
    refuseAccessTokens: o.refuseAccessTokens ?? false,
    envelopeShape: o.envelopeShape ?? 'rc',
  };
}

export interface ApiLogEntry {
  /** Wall-clock time the request arrived (Date.now(), not the shiftable clock). */
  at: number;
  method: string;
  path: string;
  userId?: string;
  status: number;
  mc: string;
}

export interface XtUserApiState {
  calls: { api: number; time: number };
  log: ApiLogEntry[];
  signatures: string[];
  signedStrings: string[];
  /** API secrets handed out by POST /user/account/api-key. */
  secrets: string[];
  failures: XtApiFailure[];
  hanging: Set<NodeJS.Timeout>;
}

export const newUserApiState = (): XtUserApiState => ({
  calls: { api: 0, time: 0 },
  log: [],
  signatures: [],
  signedStrings: [],
  secrets: [],
  failures: [],
  hanging: new Set(),
});

const MAX_RECORDED = 20_000;
const envelope = (rc: number, mc: string, result: unknown = null) => ({ rc, mc, ma: [], result });
const ok = (result: unknown) => envelope(0, 'SUCCESS', result);

/** `{rc, mc, result}` restated in the returnCode shape, as XT.COM's "Return Format" page has it. */
export function asReturnCode(body: { rc: number; mc: string; result?: unknown }) {
  const failed = body.rc !== 0;
  return {
    returnCode: body.rc,
    msgInfo: failed ? 'failure' : 'success',
    error: failed ? { code: body.mc, msg: body.mc } : null,
    result: body.result ?? null,
  };
}

/** Rewrites every `res.json({rc, mc, …})` into the returnCode shape while `o.envelopeShape` says so (read per request). */
export function envelopeShape(o: Pick<XtUserApiSettings, 'envelopeShape'>): RequestHandler {
  return (_req, res, next) => {
    if (o.envelopeShape === 'returnCode') {
      const json = res.json.bind(res);
      res.json = (body: unknown) =>
        json(
          body && typeof body === 'object' && 'rc' in body && 'mc' in body
            ? asReturnCode(body as { rc: number; mc: string })
            : body,
        );
    }
    next();
  };
}
/** Records a value for the tests' secret scans (a junk signature of a few characters would match anything: skipped). */
const remember = (list: string[], v: string | undefined) => {
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

export function userApiRouter(
  o: XtUserApiOptions,
  state: XtUserApiState,
  verifyToken: (token: string | undefined) => Promise<string | undefined>,
): Router {
  const r = Router();
  const clock = () => o.now() + o.clockShiftMs;
  const limits = new SlidingLimits();
  const books = new Map<string, Book>();
  let seq = 1_000_000_000_000 + Math.floor(Math.random() * 1e9);
  const bookOf = (userId: string) =>
    books.get(userId) ?? books.set(userId, new Book(() => String(++seq), clock())).get(userId)!;

  r.get('/v4/public/time', (_req, res) => {
    state.calls.time++;
    res.json(ok({ serverTime: clock() + o.timeEndpointSkewMs }));
  });

  r.use(
    ['/spot/v4', '/user/account'],
    express.text({ type: () => true, limit: '64kb' }),
    async function gate(req: Request, res: Response, next) {
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

      const asset = /^\/spot\/v4\/balances?$/.test(entry.path);
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
      if (wait > 0) {
        entry.mc = 'TOO_MANY_REQUESTS';
        if (o.retryAfterSec !== null) res.set('Retry-After', String(o.retryAfterSec));
        res.status(429).type('text').send('Too Many Requests');
        return;
      }
      res.locals.userId = userId;
      res.locals.body = rawBody;
      entry.mc = 'SUCCESS';
      next();
    },
  );

  const book = (res: Response) => bookOf(res.locals.userId as string);
  const q = (req: Request, k: string): string | undefined => {
    const v = req.query[k];
    return typeof v === 'string' ? v : undefined;
  };
  const jsonBody = (res: Response): Record<string, unknown> | undefined => {
    try {
      const v = JSON.parse((res.locals.body as string) || '{}') as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const fail = (res: Response, mc: string) => res.status(400).json(envelope(1, mc));

  r.get('/spot/v4/balance', (req, res) => {
    const a = ASSETS.find((x) => x.currency === q(req, 'currency')?.toLowerCase());
    if (!a) return void fail(res, 'CURRENCY_NOT_FOUND');
    res.json(ok(a));
  });
  r.get('/spot/v4/balances', (req, res) => {
    const want = q(req, 'currencies')?.toLowerCase().split(',').filter(Boolean);
    const assets = want?.length ? ASSETS.filter((a) => want.includes(a.currency)) : ASSETS;
    res.json(ok({ totalUsdtAmount: '10342.51', totalBtcAmount: '0.1032', assets }));
  });
  r.get('/spot/v4/order', (req, res) => {
    const order = book(res).find({ orderId: q(req, 'orderId'), clientOrderId: q(req, 'clientOrderId') });
    if (!order) return void fail(res, 'ORDER_NOT_FOUND');
    res.json(ok(order));
  });
  r.get('/spot/v4/order/:orderId', (req, res) => {
    const order = book(res).find({ orderId: String(req.params.orderId) });
    if (!order) return void fail(res, 'ORDER_NOT_FOUND');
    res.json(ok(order));
  });
  r.get('/spot/v4/batch-order', (req, res) => {
    const ids = (q(req, 'orderIds') ?? '').split(',').filter(Boolean);
    res.json(ok(ids.map((id) => book(res).find({ orderId: id })).filter(Boolean)));
  });
  r.get('/spot/v4/open-order', (req, res) => void res.json(ok(book(res).open(q(req, 'symbol')))));
  r.get(
    '/spot/v4/history-order',
    (req, res) => void res.json(ok({ hasPrev: false, hasNext: false, items: book(res).history(q(req, 'symbol')) })),
  );
  r.get(
    '/spot/v4/trade',
    (req, res) =>
      void res.json(
        ok({
          hasPrev: false,
          hasNext: false,
          items: book(res).fills.filter((f) => !q(req, 'symbol') || f.symbol === q(req, 'symbol')),
        }),
      ),
  );
  r.post('/spot/v4/order', (_req, res) => {
    const body = jsonBody(res);
    if (!body) return void fail(res, 'BODY_INVALID');
    const placed = book(res).place(body, clock());
    if (typeof placed === 'string') return void fail(res, placed);
    res.json(ok({ orderId: placed.orderId }));
  });
  r.delete('/spot/v4/order/:orderId', (req, res) => {
    if (!book(res).cancel(String(req.params.orderId), clock())) return void fail(res, 'ORDER_NOT_FOUND');
    res.json(ok({ cancelId: String(req.params.orderId) }));
  });
  r.delete('/spot/v4/batch-order', (_req, res) => {
    const ids = jsonBody(res)?.orderIds;
    if (!Array.isArray(ids)) return void fail(res, 'BODY_INVALID');
    for (const id of ids) book(res).cancel(String(id), clock());
    res.json(ok(null));
  });
  r.delete('/spot/v4/open-order', (_req, res) => {
    const symbol = jsonBody(res)?.symbol;
    for (const o2 of book(res).open(typeof symbol === 'string' ? symbol : undefined))
      book(res).cancel(o2.orderId, clock());
    res.json(ok(null));
  });
  r.post('/user/account/api-key', (_req, res) => {
    // The reason /api/xt must never reach this: it hands the person's API secret to the caller.
    const secretKey = randomBytes(24).toString('hex');
    remember(state.secrets, secretKey);
    res.json(ok({ accessKey: randomBytes(16).toString('hex'), secretKey }));
  });
  r.use(['/spot/v4', '/user/account'], (_req, res) => void res.status(404).json(envelope(1, 'NOT_FOUND')));
  return r;
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

/**
 * The XT.COM stand-in's user APIs (provider notes, "Calling user APIs with the token"):
 *  - GET /v4/public/time, unsigned, from the stand-in's own clock (which tests can shift);
 *  - every other route checks the validate-* signature (xt/signCheck.ts) in the style set by its
 *    own option, then the `access-token`, then XT.COM's per-user limits (3/s for assets,
 *    10/s otherwise, 1000/min per IP), answering 429 over them;
 *  - the documented spot endpoints, with orders kept in memory per user (xt/orders.ts).
 * Every signature and signed string it sees is recorded, so tests can search logs for them.
 * The gate is in xt/userGate.ts, the spot routes in xt/userSpot.ts, the answers' envelope in xt/envelope.ts.
 */
import express, { Router } from 'express';
import { type ApiKeyAnswerShape, createApiKey } from './xt/apiKey.js';
import { envelope, ok } from './xt/envelope.js';
import type { SignCheckOptions } from './xt/signCheck.js';
import { apiGate } from './xt/userGate.js';
import { spotRoutes } from './xt/userSpot.js';

export { asReturnCode, envelopeShape } from './xt/envelope.js';

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
  /** Where POST /user/account/api-key puts the secret (xt/apiKey.ts); `result`: `result.secretKey`. */
  apiKeyAnswerShape: ApiKeyAnswerShape;
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
    apiKeyAnswerShape: o.apiKeyAnswerShape ?? 'result',
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

/** The user API routes, over `state` (shared with the stand-in, which reports it to the tests). */
export function userApiRouter(
  o: XtUserApiOptions,
  state: XtUserApiState,
  verifyToken: (token: string | undefined) => Promise<string | undefined>,
): Router {
  const r = Router();
  const clock = () => o.now() + o.clockShiftMs;

  r.get('/v4/public/time', (_req, res) => {
    state.calls.time++;
    res.json(ok({ serverTime: clock() + o.timeEndpointSkewMs }));
  });

  r.use(
    ['/spot/v4', '/user/account'],
    express.text({ type: () => true, limit: '64kb' }),
    apiGate(o, state, verifyToken, clock),
  );
  spotRoutes(r, clock);
  // The reason /api/xt must never reach this: it hands the person's API secret to the caller.
  r.post(
    '/user/account/api-key',
    createApiKey(() => o.apiKeyAnswerShape, state.secrets),
  );
  r.use(['/spot/v4', '/user/account'], (_req, res) => void res.status(404).json(envelope(1, 'NOT_FOUND')));
  return r;
}

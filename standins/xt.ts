/**
 * A stand-in for XT.COM, written from XT.COM's OAuth 2.0 documents:
 *  - GET  /{lang}/accounts/oauth2            the authorization page (Authorize / Deny)
 *  - GET  /public/uaa/oauth2/token           code exchange and refresh, secret in the query, {rc,mc,ma,result}
 *  - GET  /v4/public/time and the signed user APIs (/spot/v4/…, /user/account/api-key): xtUser.ts
 * Tokens are RS256 JWTs with `exp`. Codes are single use. Failures can be injected for tests and demos.
 * It serves the demo and the tests; it is not part of the production image.
 *
 * Its parts: xt/authorize.ts and xt/pages.ts (the authorization page), xt/tokenEndpoint.ts and
 * xt/tokens.ts (the token endpoint, the tokens), xtUser.ts (the user APIs), xt/state.ts (what they share).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { authorizeRouter } from './xt/authorize.js';
import { XtState } from './xt/state.js';
import { tokenEndpoint } from './xt/tokenEndpoint.js';
import { processSigningKey, verifyAccessToken } from './xt/tokens.js';
import {
  type ApiLogEntry,
  type XtApiFailure,
  type XtUserApiOptions,
  type XtUserApiSettings,
  userApiDefaults,
  envelopeShape,
  userApiRouter,
} from './xtUser.js';

export type XtFailure = 'reject' | 'timeout' | 'http500' | 'html502' | 'truncated' | 'rate429';

/** The user API settings (signing, clock, limits) are XtUserApiSettings, in xtUser.ts. */
export interface XtStandInOptions extends Partial<XtUserApiSettings> {
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
  /** Redirect URIs the client registered; when empty any http(s) URI is accepted. */
  redirectUris?: string[];
  accessTtlSec?: number;
  refreshTtlSec?: number;
  /** Issue a new refresh token on every refresh (and invalidate the old one). */
  rotateRefreshTokens?: boolean;
  /** Leave `exp` out of the JWTs, so clients must fall back to expires_in. */
  omitExp?: boolean;
  /** The unit `expires_in` is sent in. The documents' comments say milliseconds. */
  expiresInUnit?: 's' | 'ms';
  userId?: string;
  /** How long a `timeout` failure hangs before answering (ms). */
  hangMs?: number;
  /** The stand-in's clock (tests share one with the app to move time forward). */
  now?: () => number;
  /** Delay every token-endpoint answer by this much (ms), to make concurrent requests overlap. */
  tokenDelayMs?: number;
  /**
   * Delay a successful token answer by this much (ms) AFTER the tokens were issued (and a used
   * refresh token rotated away): the provider has acted, but the client has not heard yet.
   */
  answerDelayMs?: number;
}

export interface XtStandIn {
  url: string;
  port: number;
  /** Calls to the token endpoint, by grant type; `api`: user API requests; `time`: /v4/public/time. */
  calls: { authorization_code: number; refresh_token: number; api: number; time: number };
  /** Refresh tokens presented at the token endpoint, in order (a token used twice shows up twice). */
  refreshTokensPresented: string[];
  /** The next `count` user API calls fail this way (before any check). */
  failApiNext(kind: XtApiFailure, count?: number): void;
  /** Every user API request, in order: when it arrived (wall clock), its path, user and answer. */
  apiLog(): ApiLogEntry[];
  /** The validate-signature values and the signed strings seen so far (both in issued() too). */
  signatures(): string[];
  signedStrings(): string[];
  /** The next `count` token-endpoint calls (optionally of one grant type) fail this way. */
  failNext(kind: XtFailure, count?: number, grant?: 'authorization_code' | 'refresh_token'): void;
  /** The API secrets POST /user/account/api-key handed out, oldest first (also in issued()). */
  apiKeySecrets(): string[];
  /** Every secret so far: tokens, codes, the API secret, API secrets handed out, signatures, signed strings. Tests search logs and pages for them. */
  issued(): string[];
  /** Every access token issued so far stops working (the API answers 401). */
  revokeAccessTokens(): void;
  /** Every refresh token issued so far stops working. */
  revokeRefreshTokens(): void;
  /** Answer the next token call with exactly this (status, content-type, body), after validating the request. */
  respondNextWith(r: { status?: number; contentType?: string; body: string }): void;
  /** Issue the next tokens' result with these fields overridden (for hostile-response tests). */
  overrideNextResult(patch: Record<string, unknown> | ((r: Record<string, unknown>) => unknown), raw?: boolean): void;
  /** Settings that may be changed while running (tokenDelayMs, rotateRefreshTokens, accessTtlSec, …). */
  options: Required<Omit<XtStandInOptions, 'port' | 'host' | 'redirectUris'>> & {
    redirectUris: string[];
  } & XtUserApiOptions;
  close(): Promise<void>;
}

/** The options with their defaults filled in: the stand-in's settings, which tests may change while it runs. */
function optionsOf(opts: XtStandInOptions): XtStandIn['options'] {
  return {
    clientId: opts.clientId ?? 'demo-client',
    clientSecret: opts.clientSecret ?? 'demo-secret',
    redirectUris: opts.redirectUris ?? [],
    accessTtlSec: opts.accessTtlSec ?? 86_400,
    refreshTtlSec: opts.refreshTtlSec ?? 30 * 86_400,
    rotateRefreshTokens: opts.rotateRefreshTokens ?? true,
    omitExp: opts.omitExp ?? false,
    expiresInUnit: opts.expiresInUnit ?? 'ms',
    userId: opts.userId ?? '12345678',
    hangMs: opts.hangMs ?? 30_000,
    now: opts.now ?? Date.now,
    tokenDelayMs: opts.tokenDelayMs ?? 0,
    answerDelayMs: opts.answerDelayMs ?? 0,
    ...userApiDefaults(opts),
  };
}

export async function startXtStandIn(opts: XtStandInOptions = {}): Promise<XtStandIn> {
  const options = optionsOf(opts);
  const state = new XtState(options, await processSigningKey());

  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));
  app.use(envelopeShape(options));
  app.use(authorizeRouter(state));
  app.get('/public/uaa/oauth2/token', tokenEndpoint(state));
  app.use(userApiRouter(options, state.api, (token) => verifyAccessToken(state, token)));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  return standInHandle(state, server);
}

/** What the tests and the demo hold: the records, and the hooks that change what comes next. */
function standInHandle(state: XtState, server: Server): XtStandIn {
  const { options, api } = state;
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls: state.calls,
    refreshTokensPresented: state.refreshTokensPresented,
    options,
    failApiNext(kind, count = 1) {
      for (let i = 0; i < count; i++) api.failures.push(kind);
    },
    apiLog: () => api.log.map((e) => ({ ...e })),
    signatures: () => [...api.signatures],
    signedStrings: () => [...api.signedStrings],
    failNext(kind, count = 1, grant) {
      for (let i = 0; i < count; i++) state.failures.push({ kind, grant });
    },
    apiKeySecrets: () => [...api.secrets],
    issued: () => [...state.issued, options.apiSecret, ...api.secrets, ...api.signatures, ...api.signedStrings],
    revokeAccessTokens() {
      state.accessEpoch++;
    },
    revokeRefreshTokens() {
      state.refreshTokens.clear();
    },
    respondNextWith(r) {
      state.rawResponses.push(r);
    },
    overrideNextResult(patch, raw = false) {
      state.overrides.push({ patch, raw });
    },
    async close() {
      for (const t of [...state.hanging, ...api.hanging]) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A stand-in for Tencent Cloud CIAM, built on the real oidc-provider (v9), on a loopback port.
 * It speaks what the CIAM documents describe (provider document 003, provider README):
 *  - GET  /.well-known/openid-configuration   discovery; token auth client_secret_basic / _post (+ none for public clients)
 *  - GET  /oauth2/authorize                   code flow, PKCE S256 required
 *  - POST /oauth2/token                       code exchange and refresh (rotating refresh tokens), form-encoded
 *  - GET  /oauth2/jwks                        RS256 keys with a kid
 *  - POST /oauth2/revoke                      RFC 7009; revoking a refresh token ends its grant
 *  - GET  /userinfo                           Bearer
 *  - GET  /logout?client_id&logout_redirect_uri&state   CIAM's own logout: just redirects back
 * plus a tiny sign-in/consent page (/interaction/:uid, with Approve and Deny buttons) that both
 * the browser demo and the tests (plain HTTP, no browser) go through.
 *
 * Standard logout, which CIAM does not have, is there when asked for (the tests do):
 *  - rpInitiatedLogout: GET /session/end (end_session_endpoint in discovery), a confirmation page,
 *    then back to the registered post_logout_redirect_uri with `state`;
 *  - backchannelLogoutUri: every client registers it (backchannel_logout_session_required), ID
 *    tokens carry `sid`, and ending a session POSTs a logout token there.
 *
 * Test hooks: call counters, failure injection per endpoint, ID-token and userinfo tampering
 * (re-signed with the stand-in's own key, or with a rogue one), key rotation, JWTs signed with the
 * current key (to make logout tokens), and a record of what was issued.
 * It serves the demo and the tests; it is not part of the production image.
 *
 * Its parts: oidc/provider.ts (oidc-provider's configuration), oidc/hooks.ts (the test hooks around
 * it), oidc/interaction.ts and oidc/pages.ts (the sign-in page), oidc/logout.ts (CIAM's /logout),
 * oidc/keys.ts (signing keys), oidc/state.ts (what they share).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type * as jose from 'jose';
import type Provider from 'oidc-provider';
import { interactionRouter } from './oidc/interaction.js';
import { newSigningKey, processFirstKey, signWithCurrentKey } from './oidc/keys.js';
import { ciamLogout } from './oidc/logout.js';
import { buildProvider } from './oidc/provider.js';
import { type OidcSettings, OidcState } from './oidc/state.js';

export interface StandInClient {
  clientId: string;
  /** Absent: a public client (token_endpoint_auth_method none, PKCE only). */
  clientSecret?: string;
  tokenAuth: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/** The clients registered by default. oidc-provider holds each client to one auth method, hence two confidential ones. */
export const OIDC_CLIENTS = {
  basic: {
    clientId: 'ciam-web-app',
    clientSecret: 'ciam-web-app-secret-0123456789abcdef',
    tokenAuth: 'client_secret_basic',
  },
  post: {
    clientId: 'ciam-web-app-post',
    clientSecret: 'ciam-web-app-post-secret-0123456789ab',
    tokenAuth: 'client_secret_post',
  },
  public: { clientId: 'ciam-public-spa', tokenAuth: 'none' },
} as const satisfies Record<string, StandInClient>;

export interface OidcAccount {
  sub: string;
  name: string;
  email: string;
}

export interface OidcStandInOptions {
  port?: number;
  host?: string;
  clients?: StandInClient[];
  /** Callback URLs every client accepts. */
  redirectUris?: string[];
  /** Where /logout may send the browser back to. */
  postLogoutRedirectUris?: string[];
  /** Access token lifetime; CIAM's sample says 299 s. */
  accessTtlSec?: number;
  refreshTtlSec?: number;
  account?: OidcAccount;
  /** How long a `timeout` failure hangs before answering (ms). */
  hangMs?: number;
  /** OpenID Connect RP-Initiated Logout (end_session_endpoint). Off by default: CIAM has only its own /logout. */
  rpInitiatedLogout?: boolean;
  /** OpenID Connect Back-Channel Logout: the backchannel_logout_uri every client registers. Unset: off. */
  backchannelLogoutUri?: string;
  /**
   * The issuer as browsers and clients reach it when a TLS proxy is in front (docker-compose.yml:
   * https://ciam.localhost:9443). The proxy must send X-Forwarded-Proto. Default: http://host:port.
   */
  issuer?: string;
}

export type OidcRoute = 'discovery' | 'jwks' | 'token' | 'revocation' | 'userinfo' | 'end_session';
export type OidcFailure = 'http500' | 'html502' | 'not_json' | 'timeout' | 'invalid_grant' | 'invalid_client';
/** A change to the next ID token: a rogue signature, or claims to merge (or a function of the claims). */
export type IdTokenTamper = 'bad_signature' | Record<string, unknown> | ((claims: jose.JWTPayload) => jose.JWTPayload);

export interface OidcStandIn {
  issuer: string;
  port: number;
  /** The oidc-provider instance currently serving (a new one after rotateKeys()). */
  readonly provider: Provider;
  account: OidcAccount;
  calls: Record<OidcRoute | 'authorization_code' | 'refresh_token' | 'logout', number>;
  /** Back-channel logout tokens the stand-in POSTed, and how each was answered (an HTTP status, or 0 when the call failed). */
  backchannel: { token: string; status: number }[];
  /** Refresh tokens in the order they were issued, and the ones presented at the token endpoint. */
  refreshTokensIssued: string[];
  refreshTokensPresented: string[];
  /** The next `count` calls to `route` fail this way (before oidc-provider sees them). */
  failNext(route: OidcRoute, kind: OidcFailure, count?: number): void;
  /** Changes the ID token in the next successful token response. */
  tamperNextIdToken(change: IdTokenTamper): void;
  /** Changes the next userinfo answer: claims to merge (or a function of the claims). */
  tamperNextUserinfo(
    change: Record<string, unknown> | ((claims: Record<string, unknown>) => Record<string, unknown>),
  ): void;
  /** A JWT signed with the stand-in's current key (RS256, its kid): logout tokens for the tests. `header` is merged in. */
  signJwt(payload: jose.JWTPayload, header?: Partial<jose.JWTHeaderParameters>): Promise<string>;
  /** Publishes a new signing key (first, the old one stays listed) and signs with it from now on. */
  rotateKeys(): Promise<void>;
  /** The provider forgets a refresh token (as if the person revoked access in the CIAM console). */
  forgetRefreshToken(token: string): Promise<void>;
  /** Every token and code issued so far: tests search logs and pages for them. */
  issued(): string[];
  close(): Promise<void>;
}

/** The options with their defaults filled in. */
function settingsOf(opts: OidcStandInOptions): OidcSettings {
  return {
    host: opts.host ?? '127.0.0.1',
    clients: opts.clients ?? Object.values(OIDC_CLIENTS),
    redirectUris: opts.redirectUris ?? [
      'http://127.0.0.1:3999/auth/oidc/callback',
      'http://localhost:3000/auth/oidc/callback',
    ],
    postLogoutRedirectUris: opts.postLogoutRedirectUris ?? ['http://127.0.0.1:3999/', 'http://localhost:3000/'],
    account: opts.account ?? { sub: 'ciam-user-7f3a9c', name: 'Li Lei', email: 'li.lei@example.com' },
    accessTtlSec: opts.accessTtlSec ?? 299,
    refreshTtlSec: opts.refreshTtlSec ?? 30 * 86_400,
    hangMs: opts.hangMs ?? 30_000,
    rpInitiatedLogout: opts.rpInitiatedLogout,
    backchannelLogoutUri: opts.backchannelLogoutUri,
    issuer: opts.issuer,
  };
}

export async function startOidcStandIn(opts: OidcStandInOptions = {}): Promise<OidcStandIn> {
  const state = new OidcState(settingsOf(opts), [await processFirstKey()]);
  const app = standInApp(state);
  const server: Server = app.listen(opts.port ?? 0, state.settings.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = opts.issuer ?? `http://${state.settings.host}:${port}`;
  state.serve(buildProvider(state, issuer));
  return standInHandle(state, server, issuer, port);
}

/** The stand-in's own routes (sign-in page, CIAM's /logout), then oidc-provider for everything else. */
function standInApp(state: OidcState): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(interactionRouter(state));
  app.get('/logout', ciamLogout(state));
  app.use((req, res) => state.handler(req, res));
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(400).type('text/plain').send(`interaction failed: ${err.name}`);
  });
  return app;
}

/** What the tests and the demo hold: the records, and the hooks that change what comes next. */
function standInHandle(state: OidcState, server: Server, issuer: string, port: number): OidcStandIn {
  return {
    issuer,
    port,
    get provider() {
      return state.provider;
    },
    account: state.settings.account,
    calls: state.calls,
    refreshTokensIssued: state.refreshTokensIssued,
    refreshTokensPresented: state.refreshTokensPresented,
    failNext(route, kind, count = 1) {
      for (let i = 0; i < count; i++) state.failures.push({ route, kind });
    },
    tamperNextIdToken(change) {
      state.tampers.push(change);
    },
    tamperNextUserinfo(change) {
      state.userinfoTampers.push(change);
    },
    async signJwt(payload, header = {}) {
      const jwt = await signWithCurrentKey(state.keys, payload, header);
      state.issued.push(jwt); // searched for in the logs like every token
      return jwt;
    },
    backchannel: state.backchannel,
    async rotateKeys() {
      state.keys.unshift(await newSigningKey());
      state.serve(buildProvider(state, issuer));
    },
    async forgetRefreshToken(token) {
      const rt = await state.provider.RefreshToken.find(token);
      await rt?.destroy();
    },
    issued: () => [...state.issued, ...state.backchannel.map((b) => b.token)],
    async close() {
      for (const t of state.hanging) clearTimeout(t);
      state.hanging.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * The standard OAuth 2.0 / OpenID Connect dialect (Tencent Cloud CIAM is the reference,
 * provider document 003 and the CIAM section of the provider README), built on openid-client:
 *  - discovery:  {issuer}/.well-known/openid-configuration (see discovery.ts);
 *  - authorize:  code flow with state, nonce and PKCE S256, always;
 *  - token:      POST form-encoded; client_secret_basic, client_secret_post, or none (public client);
 *  - ID token:   signature (JWKS), iss, aud, azp, exp/nbf, iat (not in the future), nonce, and with
 *                OIDC_AUTH_PARAMS's max_age auth_time, with OIDC_REQUIRE_ACR acr; all within OIDC_CLOCK_TOLERANCE;
 *  - userinfo:   with OIDC_USERINFO, after login and each refresh; its `sub` must be the ID token's;
 *  - refresh:    rotation is the caller's business; we return a refresh token only when a new one came;
 *  - revoke:     RFC 7009 at the discovered revocation endpoint;
 *  - logout:     RP-Initiated Logout at the discovered end_session_endpoint (id_token_hint, client_id,
 *                post_logout_redirect_uri, state); without one, CIAM's own GET {OIDC_LOGOUT_URL}?client_id&logout_redirect_uri&state;
 *  - back-channel logout tokens: checked in logout.ts against the discovered JWKS.
 * The token endpoint's answers are checked further and reduced to a TokenResponse in tokens.ts.
 *
 * Every failure leaves this module as an AppError built by errors.ts.
 */
import * as jose from 'jose';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Metrics } from '../../shared/metrics.js';
import type { OidcConfig } from '../../config/oidc.js';
import { AppError } from '../../errors.js';
import { boundedFetch } from './fetch.js';
import { type Discovered, type DiscoveryOptions, OidcDiscovery } from './discovery.js';
import { type OidcOperation, toOidcAppError } from './errors.js';
import { checkLogoutToken } from './logout.js';
import { DISPLAY_CLAIMS, type TokenSet, displayClaims, normaliseTokens } from './tokens.js';
import type {
  AuthorizeParams,
  ExchangeParams,
  LoginExtras,
  LogoutParams,
  LogoutTokenCheck,
  Provider,
  ProviderLogout,
  TokenResponse,
} from '../types.js';

export interface OidcProviderOptions {
  timeoutMs: number;
  logger: Logger;
  now?: () => number;
  /** Back-off of the background discovery retries (tests shorten it). */
  discovery?: Pick<DiscoveryOptions, 'baseDelayMs' | 'maxDelayMs' | 'lazyIntervalMs'>;
  /** Times each discovery attempt. */
  metrics?: Metrics;
}

export class OidcProvider implements Provider {
  readonly id = 'oidc';
  readonly label: string;
  /** ui_locales hint: the eleven languages this app speaks itself (a Traditional Chinese reader gets zh-TW). */
  readonly languages = ['en', 'ja', 'hi', 'id', 'ru', 'es', 'tr', 'zh-TW', 'zh-CN', 'vi', 'th'] as const;
  /** Its connections are indexed by provider session and user, for back-channel logout. */
  readonly backchannelLogout = true;
  private readonly discovery: OidcDiscovery;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly fetch: client.CustomFetch;
  /** The JWKS that logout tokens are checked against, for the discovery it came from. */
  private logoutKeys?: { from: Discovered; keys: jose.JWTVerifyGetKey };

  constructor(
    private readonly cfg: OidcConfig,
    o: OidcProviderOptions,
  ) {
    this.label = cfg.label;
    this.now = o.now ?? Date.now;
    this.logger = o.logger;
    this.timeoutMs = o.timeoutMs;
    this.fetch = boundedFetch({ timeoutMs: o.timeoutMs });
    this.discovery = new OidcDiscovery(cfg, {
      fetch: this.fetch,
      timeoutMs: o.timeoutMs,
      logger: o.logger,
      metrics: o.metrics,
      ...o.discovery,
    });
    this.discovery.start(); // in the background: construction never waits and never throws
  }

  checkAvailability(): boolean {
    if (this.discovery.current()) return true;
    this.discovery.poke(); // someone wants the provider: try again now rather than at the next back-off tick
    return false;
  }

  /** Resolves once the discovery attempt in progress has settled; true when the provider is usable. */
  whenReady(): Promise<boolean> {
    return this.discovery.settled();
  }

  /** Stops background discovery retries. */
  close(): void {
    this.discovery.close();
  }

  async prepareLogin(): Promise<LoginExtras> {
    // Both stay server-side, sealed in the login transaction, until the callback.
    return { codeVerifier: client.randomPKCECodeVerifier(), nonce: client.randomNonce() };
  }

  async authorizeUrl(p: AuthorizeParams): Promise<URL> {
    const { config } = await this.discovery.ready();
    const { codeVerifier, nonce } = this.extras(p.extras);
    return client.buildAuthorizationUrl(config, {
      // The person's page language by default; OIDC_AUTH_PARAMS (never a reserved name: refused at
      // start) comes next, so its ui_locales wins; then our own parameters, which nothing overrides.
      ui_locales: p.lang,
      ...this.cfg.authParams,
      response_type: 'code',
      redirect_uri: p.redirectUri,
      scope: this.cfg.scope,
      state: p.state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  async exchangeCode(p: ExchangeParams): Promise<TokenResponse> {
    const { config } = await this.discovery.ready();
    const { codeVerifier, nonce } = this.extras(p.extras);
    const tokens = await this.call('authorization_code', () =>
      client.authorizationCodeGrant(config, p.callbackUrl, {
        pkceCodeVerifier: codeVerifier,
        expectedState: p.state,
        expectedNonce: nonce,
        idTokenExpected: true,
        // With max_age in OIDC_AUTH_PARAMS, auth_time must be present and recent enough (openid-client checks it).
        maxAge: this.cfg.maxAgeSec,
      }),
    );
    const fresh = this.normalise(tokens, 'authorization_code');
    return this.withUserinfo(config, fresh, 'authorization_code');
  }

  async refresh(
    refreshToken: string,
    current?: { userId?: string; claims?: Record<string, string> },
  ): Promise<TokenResponse> {
    const { config } = await this.discovery.ready();
    // A returned ID token is verified like at login (signature, iss, aud, exp), without a nonce.
    const tokens = await this.call('refresh_token', () => client.refreshTokenGrant(config, refreshToken));
    const fresh = this.normalise(tokens, 'refresh_token');
    // OIDC Core 12.2: a refreshed ID token must name the same subject. If not, this grant is not
    // the person's any more: end the connection rather than keep serving it.
    if (fresh.userId !== undefined && current?.userId !== undefined && fresh.userId !== current.userId) {
      throw new AppError('provider_rejected', {
        provider: this.id,
        detail: { op: 'refresh_token', reason: 'sub changed on refresh' },
      });
    }
    return this.withUserinfo(config, fresh, 'refresh_token', current);
  }

  /**
   * OIDC_USERINFO: the userinfo endpoint's claims over the ID token's (or, after a refresh without
   * an ID token, over the claims kept). Its `sub` must be the ID token's (OIDC Core 5.3.2): if not,
   * the login is refused (id_token_invalid) or the connection ends (provider_rejected). An endpoint
   * that cannot be read costs nothing but its claims: they are fetched again at the next refresh.
   */
  private async withUserinfo(
    config: client.Configuration,
    fresh: TokenResponse,
    op: 'authorization_code' | 'refresh_token',
    current?: { userId?: string; claims?: Record<string, string> },
  ): Promise<TokenResponse> {
    const sub = fresh.userId ?? current?.userId;
    if (!this.cfg.userinfo || sub === undefined) return fresh;
    let info: client.UserInfoResponse;
    try {
      info = await client.fetchUserInfo(config, fresh.accessToken, client.skipSubjectCheck);
    } catch (err) {
      const e = toOidcAppError(err, 'userinfo', this.id);
      this.logger.warn(
        { provider: this.id, code: e.code, detail: e.detail },
        'the userinfo endpoint could not be read; the claims already known are shown',
      );
      return fresh;
    }
    if (typeof info.sub !== 'string' || info.sub.slice(0, DISPLAY_CLAIMS.sub) !== sub) {
      const detail = { op, reason: 'userinfo sub mismatch', claim: 'sub' };
      throw op === 'authorization_code'
        ? new AppError('id_token_invalid', { provider: this.id, detail })
        : new AppError('provider_rejected', { provider: this.id, detail });
    }
    return { ...fresh, claims: { ...(fresh.claims ?? current?.claims ?? {}), ...displayClaims(info) } };
  }

  async revoke(refreshToken: string): Promise<void> {
    const { config, hasRevocation } = await this.discovery.ready();
    if (!hasRevocation) return;
    await this.call('revocation', () =>
      client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' }),
    );
  }

  /**
   * The provider's logout after a local disconnect (OIDC_PROVIDER_LOGOUT): the discovered
   * end_session_endpoint (RP-Initiated Logout 1.0) when there is one, else OIDC_LOGOUT_URL (CIAM's
   * own page). Discovery is not waited for: a provider that is away gets a local disconnect only.
   */
  logout(p: LogoutParams): ProviderLogout | undefined {
    if (!this.cfg.providerLogout) return undefined;
    const endSession = this.discovery.current()?.endSession;
    if (endSession) {
      const url = new URL(endSession);
      if (p.idToken) url.searchParams.set('id_token_hint', p.idToken);
      url.searchParams.set('client_id', this.cfg.clientId);
      url.searchParams.set('post_logout_redirect_uri', p.postLogoutRedirect);
      url.searchParams.set('state', p.state);
      const lang = this.cfg.authParams.ui_locales ?? p.lang;
      if (lang) url.searchParams.set('ui_locales', lang);
      return { url, returnsState: true };
    }
    if (!this.cfg.logoutUrl) return undefined;
    const url = new URL(this.cfg.logoutUrl);
    url.searchParams.set('client_id', this.cfg.clientId);
    url.searchParams.set('logout_redirect_uri', p.postLogoutRedirect);
    url.searchParams.set('state', p.state);
    return { url, returnsState: false };
  }

  async verifyLogoutToken(token: string): Promise<LogoutTokenCheck> {
    const found = await this.discovery.ready(); // provider_down when the provider cannot be discovered
    if (!found.jwksUri) return { ok: false, reason: 'the provider publishes no JWKS' };
    return checkLogoutToken(token, this.logoutJwks(found, found.jwksUri), {
      issuer: found.issuer,
      clientId: this.cfg.clientId,
      toleranceSec: this.cfg.clockToleranceSec,
      now: this.now(),
    });
  }

  /**
   * jose's remote JWKS over the same bounded fetch, seeded with the keys discovery fetched: a kid it
   * does not know makes it fetch the set again, at most every 30 s.
   */
  private logoutJwks(found: Discovered, jwksUri: URL): jose.JWTVerifyGetKey {
    if (this.logoutKeys?.from !== found) {
      const cached = client.getJwksCache(found.config); // `uat` in seconds; jose counts in ms
      this.logoutKeys = {
        from: found,
        keys: jose.createRemoteJWKSet(jwksUri, {
          timeoutDuration: this.timeoutMs,
          cooldownDuration: 30_000,
          [jose.customFetch]: this.fetch as unknown as typeof fetch,
          [jose.jwksCache]: cached ? { jwks: cached.jwks, uat: cached.uat * 1000 } : {},
        }),
      };
    }
    return this.logoutKeys.keys;
  }

  // ---------- helpers ----------

  /** The token endpoint's answer, checked and reduced to a TokenResponse (see tokens.ts). */
  private normalise(t: TokenSet, op: OidcOperation): TokenResponse {
    return normaliseTokens(t, op, {
      provider: this.id,
      clientId: this.cfg.clientId,
      clockToleranceSec: this.cfg.clockToleranceSec,
      requiredAcr: this.cfg.requiredAcr,
      now: this.now,
    });
  }

  private extras(extras: LoginExtras): { codeVerifier: string; nonce: string } {
    const { codeVerifier, nonce } = extras;
    if (!codeVerifier || !nonce)
      throw new AppError('login_expired', { provider: this.id, detail: { reason: 'transaction without PKCE/nonce' } });
    return { codeVerifier, nonce };
  }

  /** Runs one openid-client call; whatever it throws is replaced by a plain AppError. */
  private async call<T>(op: OidcOperation, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toOidcAppError(err, op, this.id);
    }
  }
}

/**
 * The standard OAuth 2.0 / OpenID Connect dialect (Tencent Cloud CIAM is the reference,
 * provider document 003 and the CIAM section of the provider README), built on openid-client:
 *  - discovery:  {issuer}/.well-known/openid-configuration (see oidcDiscovery.ts);
 *  - authorize:  code flow with state, nonce and PKCE S256, always;
 *  - token:      POST form-encoded; client_secret_basic, client_secret_post, or none (public client);
 *  - ID token:   signature (JWKS), iss, aud, azp, exp/iat and nonce all verified;
 *  - refresh:    rotation is the caller's business; we return a refresh token only when a new one came;
 *  - revoke:     RFC 7009 at the discovered revocation endpoint;
 *  - logout:     CIAM's own GET {logout url}?client_id&logout_redirect_uri&state (not RP-initiated logout).
 *
 * Every failure leaves this module as an AppError built by oidcErrors.ts.
 */
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Metrics } from '../shared/metrics.js';
import type { OidcConfig } from '../config.js';
import { AppError } from '../errors.js';
import { expiresInToMs, jwtExpiry } from '../shared/expiry.js';
import { boundedFetch } from './fetch.js';
import { type DiscoveryOptions, OidcDiscovery } from './oidcDiscovery.js';
import { type OidcOperation, toOidcAppError } from './oidcErrors.js';
import type { AuthorizeParams, ExchangeParams, LoginExtras, Provider, TokenResponse } from './types.js';

/** Display claims we keep, with a length cap each. Nothing else from the ID token is stored. */
const DISPLAY_CLAIMS = { sub: 255, name: 200, email: 254 } as const;
const MAX_TOKEN_LENGTH = 16_384;

type TokenSet = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

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
  /** ui_locales hint: the languages this app speaks itself. */
  readonly languages = ['en', 'zh-CN'] as const;
  private readonly discovery: OidcDiscovery;
  private readonly now: () => number;

  constructor(
    private readonly cfg: OidcConfig,
    o: OidcProviderOptions,
  ) {
    this.label = cfg.label;
    this.now = o.now ?? Date.now;
    this.discovery = new OidcDiscovery(cfg, {
      fetch: boundedFetch({ timeoutMs: o.timeoutMs }),
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
      response_type: 'code',
      redirect_uri: p.redirectUri,
      scope: this.cfg.scope,
      state: p.state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ui_locales: p.lang,
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
      }),
    );
    return this.normalise(tokens, 'authorization_code');
  }

  async refresh(refreshToken: string, current?: { userId?: string }): Promise<TokenResponse> {
    const { config } = await this.discovery.ready();
    // A returned ID token is verified like at login (signature, iss, aud, exp), without a nonce.
    const tokens = await this.call('refresh_token', () => client.refreshTokenGrant(config, refreshToken));
    const fresh = this.normalise(tokens, 'refresh_token');
    // OIDC Core 12.2: a refreshed ID token must name the same subject. If not, this grant is not
    // the person's any more: end the connection rather than keep serving it.
    if (fresh.userId !== undefined && current?.userId !== undefined && fresh.userId !== current.userId) {
      throw new AppError('provider_rejected', { provider: this.id, detail: { op: 'refresh_token', reason: 'sub changed on refresh' } });
    }
    return fresh;
  }

  async revoke(refreshToken: string): Promise<void> {
    const { config, hasRevocation } = await this.discovery.ready();
    if (!hasRevocation) return;
    await this.call('revocation', () => client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' }));
  }

  logoutUrl(postLogoutRedirect: string): URL | undefined {
    if (!this.cfg.logoutUrl) return undefined;
    const url = new URL(this.cfg.logoutUrl);
    url.searchParams.set('client_id', this.cfg.clientId);
    url.searchParams.set('logout_redirect_uri', postLogoutRedirect);
    url.searchParams.set('state', randomBytes(16).toString('base64url'));
    return url;
  }

  // ---------- helpers ----------

  private extras(extras: LoginExtras): { codeVerifier: string; nonce: string } {
    const { codeVerifier, nonce } = extras;
    if (!codeVerifier || !nonce) throw new AppError('login_expired', { provider: this.id, detail: { reason: 'transaction without PKCE/nonce' } });
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

  private normalise(t: TokenSet, op: OidcOperation): TokenResponse {
    const tooLong = [t.access_token, t.refresh_token, t.id_token].some((v) => typeof v === 'string' && v.length > MAX_TOKEN_LENGTH);
    if (tooLong) throw new AppError('provider_bad_response', { provider: this.id, detail: { op, reason: 'token too long' } });
    const now = this.now();
    // expires_in is relative, so it is read against our own clock (immune to skew with the provider's);
    // a JWT access token's exp is the fallback.
    const ttl = expiresInToMs(t.expires_in, 's');
    const idClaims = t.claims(); // already validated by openid-client; undefined when no ID token came
    // openid-client checks azp only when aud lists several audiences; OIDC Core 3.1.3.7 says a
    // present azp should name us in any case (CIAM sends azp = client_id with a single aud).
    if (idClaims?.azp !== undefined && idClaims.azp !== this.cfg.clientId) {
      throw new AppError('id_token_invalid', { provider: this.id, detail: { op, reason: 'claim mismatch', claim: 'azp' } });
    }
    return {
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      idToken: t.id_token,
      accessExpiresAt: ttl !== undefined ? now + ttl : jwtExpiry(t.access_token),
      refreshExpiresAt: t.refresh_token ? jwtExpiry(t.refresh_token) : undefined,
      scope: typeof t.scope === 'string' ? t.scope.slice(0, 1024) : undefined,
      userId: typeof idClaims?.sub === 'string' ? idClaims.sub.slice(0, DISPLAY_CLAIMS.sub) : undefined,
      claims: idClaims ? displayClaims(idClaims) : undefined,
    };
  }
}

function displayClaims(claims: client.IDToken): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, max] of Object.entries(DISPLAY_CLAIMS)) {
    const v = claims[name];
    if (typeof v === 'string' && v.length > 0) out[name] = v.slice(0, max);
  }
  return out;
}

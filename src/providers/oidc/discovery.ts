/**
 * OpenID Connect discovery, kept alive.
 *
 * The provider's metadata ({issuer}/.well-known/openid-configuration) is needed before anyone
 * can log in. If the provider is down when the app starts, the app must still start: the
 * provider is reported unavailable, discovery is retried in the background with exponential
 * back-off, and also lazily (throttled) whenever someone looks at the provider. Once it has
 * succeeded, the result is kept for the life of the process.
 *
 * Right after discovery the JWKS is fetched once and handed to openid-client's cache, so the
 * first login does not pay for it and a broken jwks_uri shows up in the log at start.
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Metrics } from '../../shared/metrics.js';
import { type OidcConfig, type OidcTokenAuth, isLoopbackHttp } from '../../config/index.js';
import { AppError } from '../../errors.js';
import type { CustomFetch } from 'openid-client';
import { toOidcAppError } from './errors.js';

export interface DiscoveryOptions {
  fetch: CustomFetch;
  timeoutMs: number;
  logger: Logger;
  /** Times each attempt (operation `discovery`). */
  metrics?: Metrics;
  /** First background retry after this long, doubling up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A lazy retry (someone opened the home page or tried to log in) at most this often. */
  lazyIntervalMs?: number;
}

/** What a successful discovery leaves behind. */
export interface Discovered {
  config: client.Configuration;
  hasRevocation: boolean;
  /** The issuer the metadata names (checked equal to OIDC_ISSUER by openid-client). */
  issuer: string;
  /** OpenID Connect RP-Initiated Logout's end_session_endpoint, when the provider has one. */
  endSession?: URL;
  /** Where the signing keys are (for back-channel logout tokens). */
  jwksUri?: URL;
}

/** Tencent Cloud CIAM lists basic and post; RFC 8414 says basic is the default when nothing is listed. */
function pickTokenAuth(configured: OidcTokenAuth | undefined, supported: unknown, logger: Logger): OidcTokenAuth {
  const list = Array.isArray(supported) ? supported.filter((m): m is string => typeof m === 'string') : undefined;
  if (configured) {
    if (list && !list.includes(configured))
      logger.warn(
        { provider: 'oidc', configured },
        'OIDC_TOKEN_AUTH is not listed in the provider metadata; using it anyway',
      );
    return configured;
  }
  if (!list || list.includes('client_secret_basic')) return 'client_secret_basic';
  if (list.includes('client_secret_post')) return 'client_secret_post';
  logger.warn(
    { provider: 'oidc' },
    'the provider lists neither client_secret_basic nor client_secret_post; trying client_secret_basic',
  );
  return 'client_secret_basic';
}

function clientAuth(cfg: OidcConfig, method: OidcTokenAuth): client.ClientAuth {
  if (!cfg.clientSecret) return client.None(); // a public client: PKCE is its only proof
  return method === 'client_secret_post'
    ? client.ClientSecretPost(cfg.clientSecret)
    : client.ClientSecretBasic(cfg.clientSecret);
}

export class OidcDiscovery {
  private discovered?: Discovered;
  private attempt?: Promise<Discovered | undefined>;
  private failures = 0;
  private lastAttemptAt = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly issuerUrl: URL;
  private readonly insecure: boolean;

  constructor(
    private readonly cfg: OidcConfig,
    private readonly o: DiscoveryOptions,
  ) {
    this.issuerUrl = new URL(cfg.issuer);
    this.insecure = isLoopbackHttp(this.issuerUrl); // openid-client accepts plain http only when told to
  }

  /** Starts the first attempt. Never throws: failures are logged and retried. */
  start(): void {
    void this.run();
  }

  current(): Discovered | undefined {
    return this.discovered;
  }

  /** Asks for an attempt now, unless one is running or the last one was moments ago. */
  poke(): void {
    if (this.discovered || this.attempt || this.closed) return;
    if (Date.now() - this.lastAttemptAt < (this.o.lazyIntervalMs ?? 1000)) return;
    void this.run();
  }

  /** The discovered configuration, waiting for a running (or a lazily started) attempt. */
  async ready(): Promise<Discovered> {
    if (this.discovered) return this.discovered;
    this.poke();
    const result = await this.attempt;
    if (result) return result;
    throw new AppError('provider_down', { provider: 'oidc', detail: { reason: 'discovery failed' } });
  }

  /** Resolves once the current attempt (if any) has settled; true when discovered. For tests and start-up checks. */
  async settled(): Promise<boolean> {
    await this.attempt;
    return this.discovered !== undefined;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private run(): Promise<Discovered | undefined> {
    if (this.attempt) return this.attempt;
    if (this.timer) clearTimeout(this.timer);
    this.lastAttemptAt = Date.now();
    const once = () => this.discoverOnce();
    const attempt = (this.o.metrics ? this.o.metrics.timeProvider('oidc', 'discovery', once) : once()).then(
      (d) => {
        this.discovered = d;
        this.failures = 0;
        this.o.logger.info({ provider: 'oidc', revocation: d.hasRevocation }, 'OIDC discovery succeeded');
        return d;
      },
      (err: unknown) => {
        this.failures += 1;
        const e = toOidcAppError(err, 'discovery');
        const delay = Math.min(
          this.o.maxDelayMs ?? 60_000,
          (this.o.baseDelayMs ?? 1000) * 2 ** Math.min(this.failures - 1, 16),
        );
        this.o.logger.warn(
          { provider: 'oidc', code: e.code, detail: e.detail, failures: this.failures, retryInMs: delay },
          'OIDC discovery failed; the provider is unavailable until it succeeds',
        );
        if (!this.closed) {
          this.timer = setTimeout(() => void this.run(), delay);
          this.timer.unref(); // never keeps the process alive
        }
        return undefined;
      },
    );
    this.attempt = attempt.finally(() => {
      this.attempt = undefined;
    });
    return this.attempt;
  }

  private async discoverOnce(): Promise<Discovered> {
    const timeoutSec = this.o.timeoutMs / 1000 + 1; // the library's own timer, a little after ours
    const found = await client.discovery(this.issuerUrl, this.cfg.clientId, undefined, undefined, {
      [client.customFetch]: this.o.fetch,
      execute: this.insecure ? [client.allowInsecureRequests] : [],
      timeout: timeoutSec,
    });
    const server = found.serverMetadata();
    const method = pickTokenAuth(this.cfg.tokenAuth, server.token_endpoint_auth_methods_supported, this.o.logger);
    // Now that we know what the provider supports, build the configuration we actually use.
    const config = new client.Configuration(
      server,
      this.cfg.clientId,
      { client_secret: this.cfg.clientSecret, [client.clockTolerance]: this.cfg.clockToleranceSec },
      clientAuth(this.cfg, method),
    );
    config[client.customFetch] = this.o.fetch;
    config.timeout = timeoutSec;
    if (this.insecure) client.allowInsecureRequests(config);
    // Verify ID token signatures against the JWKS (openid-client skips that by default and relies on TLS).
    client.enableNonRepudiationChecks(config);
    if (server.jwks_uri) await this.warmJwks(config, server.jwks_uri);
    return {
      config,
      hasRevocation: typeof server.revocation_endpoint === 'string',
      issuer: server.issuer,
      endSession: this.endpoint(server.end_session_endpoint, 'end_session_endpoint'),
      jwksUri: this.endpoint(server.jwks_uri, 'jwks_uri'),
    };
  }

  /** An endpoint from the metadata, if it is an https URL (http only where the issuer is loopback http); else absent and logged. */
  private endpoint(value: unknown, name: string): URL | undefined {
    if (value === undefined) return undefined;
    try {
      if (typeof value !== 'string') throw new TypeError('not a string');
      const url = new URL(value);
      if ((url.protocol === 'https:' || (this.insecure && isLoopbackHttp(url))) && !url.username && !url.password)
        return url;
    } catch {
      // below
    }
    this.o.logger.warn(
      { provider: 'oidc', endpoint: name },
      'the provider metadata lists an endpoint that is not an https URL; it is not used',
    );
    return undefined;
  }

  /** Best effort: a failure here only means the first login fetches the JWKS itself. */
  private async warmJwks(config: client.Configuration, jwksUri: string): Promise<void> {
    try {
      const url = new URL(jwksUri);
      if (url.protocol !== 'https:' && !(this.insecure && url.protocol === 'http:')) return;
      const res = await this.o.fetch(url.href, {
        method: 'GET',
        headers: { accept: 'application/json' },
        body: undefined,
        redirect: 'manual',
      });
      const jwks = (await res.json()) as { keys?: unknown };
      if (res.status !== 200 || !Array.isArray(jwks.keys)) throw new Error('not a JWKS');
      client.setJwksCache(config, { jwks: jwks as client.JWKS, uat: Math.floor(Date.now() / 1000) });
    } catch (err) {
      const e = toOidcAppError(err, 'jwks');
      this.o.logger.warn(
        { provider: 'oidc', code: e.code, detail: e.detail },
        'the JWKS could not be fetched after discovery; it will be fetched at the first login',
      );
    }
  }
}

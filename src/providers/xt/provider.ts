/**
 * XT.COM's dialect (provider documents 002, 000 and 001):
 *  - authorize: GET https://www.xt.com/{lang}/accounts/oauth2?response_type=code&client_id&redirect_uri&scope&state
 *  - token:     GET {token url}?client_id&client_secret&grant_type=…&(code|refresh_token)
 *  - responses: an envelope {rc, mc, ma, result} or {returnCode, msgInfo, error, result}; 0 is success (envelope.ts).
 *
 * The client secret travels in the token URL, so that URL never leaves this module:
 * every failure becomes an AppError with plain values only.
 */
import { z } from 'zod';
import { type XtConfig, XT_LANGUAGES } from '../../config/xt.js';
import { AppError, type Detail } from '../../errors.js';
import { decodeJwtClaims, jwtExpiry, tokenExpiry } from '../../shared/expiry.js';
import type { ProviderHttp, RawResponse } from './http.js';
import { isClientSideMc, readXtEnvelope } from './envelope.js';
import type { AuthorizeParams, ExchangeParams, Provider, TokenResponse } from '../types.js';

/** XT.COM documents both tokens as RS256 JWTs; anything else is not an XT.COM token. */
const token = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^[\w-]+\.[\w-]+\.[\w-]*$/, 'not a JWT');
const TEN_YEARS_MS = 10 * 365 * 86_400_000;
const lifetime = z.union([z.number(), z.string().max(32)]).optional();

const resultSchema = z.object({
  access_token: token,
  refresh_token: token.optional(),
  expires_in: lifetime,
  refresh_expires_in: lifetime,
  user_id: z.union([z.string().max(128), z.number()]).optional(),
  client_id: z.string().max(256).optional(),
  scope: z.string().max(1024).optional(),
});

export class XtProvider implements Provider {
  readonly id = 'xt';
  readonly label: string;
  readonly languages = XT_LANGUAGES;

  constructor(
    private readonly cfg: XtConfig,
    private readonly http: ProviderHttp,
    private readonly now: () => number = Date.now,
  ) {
    this.label = cfg.label;
  }

  checkAvailability(): boolean {
    return true;
  }

  close(): void {
    this.http.close();
  }

  async prepareLogin(): Promise<Record<string, string>> {
    return {};
  }

  async authorizeUrl(p: AuthorizeParams): Promise<URL> {
    const url = new URL(this.cfg.authorizeUrl.replace('{lang}', encodeURIComponent(p.lang)));
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.cfg.clientId);
    url.searchParams.set('redirect_uri', p.redirectUri);
    url.searchParams.set('scope', this.cfg.scope);
    url.searchParams.set('state', p.state);
    return url;
  }

  async exchangeCode(p: ExchangeParams): Promise<TokenResponse> {
    return this.tokenRequest({ grant_type: 'authorization_code', code: p.code });
  }

  async refresh(refreshToken: string): Promise<TokenResponse> {
    return this.tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  private async tokenRequest(grant: Record<string, string>): Promise<TokenResponse> {
    const url = new URL(this.cfg.tokenUrl);
    url.searchParams.set('client_id', this.cfg.clientId);
    url.searchParams.set('client_secret', this.cfg.clientSecret);
    for (const [k, v] of Object.entries(grant)) url.searchParams.set(k, v);
    const res = await this.http.request({ method: 'GET', url: url.toString() });
    return this.readTokenResponse(res, grant.grant_type ?? '');
  }

  private readTokenResponse(res: RawResponse, grantType: string): TokenResponse {
    const fail = (
      code: 'provider_rejected' | 'provider_bad_response' | 'provider_unavailable' | 'provider_misconfigured',
      detail: Detail,
    ) => new AppError(code, { provider: this.id, detail: { grantType, httpStatus: res.status, ...detail } });

    if (res.status === 429 || res.status >= 500) throw fail('provider_unavailable', { reason: 'http error' });
    if (res.status === 404) throw fail('provider_misconfigured', { reason: 'token endpoint not found' });

    if (!/\bjson\b/i.test(res.contentType)) throw fail('provider_bad_response', { reason: 'not a JSON content-type' });
    const { rc, mc, result: raw } = readXtEnvelope(res, this.id, { grantType });
    // An AUTH_ code is our misconfiguration even in a "success" envelope, as on the user API.
    if (rc !== 0 || isClientSideMc(mc))
      throw fail(isClientSideMc(mc) ? 'provider_misconfigured' : 'provider_rejected', { rc, mc });
    // Tokens come only in a 2xx: a redirect is never followed, and its body is no answer either.
    if (res.status < 200 || res.status >= 300)
      throw fail('provider_bad_response', { reason: 'success envelope on a non-2xx answer' });

    const result = resultSchema.safeParse(raw);
    if (!result.success) {
      const missing = !(raw && typeof raw === 'object' && 'access_token' in raw);
      throw fail('provider_bad_response', { reason: missing ? 'no access_token' : 'malformed result' });
    }
    const r = result.data;
    if (r.client_id !== undefined && r.client_id !== this.cfg.clientId) {
      throw fail('provider_bad_response', { reason: 'tokens issued to another client_id' });
    }
    const now = this.now();
    for (const t of [r.access_token, r.refresh_token]) {
      const exp = jwtExpiry(t) ?? (decodeJwtClaims(t)?.exp !== undefined ? -1 : undefined);
      if (exp !== undefined && (exp <= now || exp > now + TEN_YEARS_MS))
        throw fail('provider_bad_response', { reason: 'token exp in the past or implausibly far' });
    }
    return this.normalise(r);
  }

  private normalise(r: z.infer<typeof resultSchema>): TokenResponse {
    const now = this.now();
    const claims = decodeJwtClaims(r.access_token);
    const claimUser = claims?.['user-id'] ?? claims?.sub;
    const userId =
      r.user_id ?? (typeof claimUser === 'string' || typeof claimUser === 'number' ? claimUser : undefined);
    return {
      accessToken: r.access_token,
      refreshToken: r.refresh_token,
      accessExpiresAt: tokenExpiry(r.access_token, r.expires_in, this.cfg.expiresInUnit, now),
      refreshExpiresAt: r.refresh_token
        ? tokenExpiry(r.refresh_token, r.refresh_expires_in, this.cfg.expiresInUnit, now)
        : undefined,
      scope: r.scope ?? (typeof claims?.scope === 'string' ? claims.scope : undefined),
      userId: userId === undefined ? undefined : String(userId).slice(0, 128),
    };
  }
}

/**
 * A standard OAuth 2.0 / OpenID Connect provider (Tencent Cloud CIAM is the reference), enabled by
 * OIDC_ISSUER: its client (OIDC_CLIENT_*, OIDC_TOKEN_AUTH), what it asks for (OIDC_SCOPE,
 * OIDC_AUTH_PARAMS, OIDC_REQUIRE_ACR, OIDC_USERINFO), logout, and the clock tolerance.
 */
import { z } from 'zod';
import { bool, checkProviderUrl, durationMs, optionalNonEmpty } from './env.js';

/** How a confidential OIDC client authenticates at the token endpoint (Tencent Cloud CIAM supports both). */
export const OIDC_TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type OidcTokenAuth = (typeof OIDC_TOKEN_AUTH_METHODS)[number];

/**
 * Authorization request parameters xt-connect sets itself (or that would change how the answer
 * comes back): OIDC_AUTH_PARAMS may not name them.
 */
export const OIDC_RESERVED_AUTH_PARAMS = [
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'redirect_uri',
  'client_id',
  'response_type',
  'scope',
  'response_mode',
  'request',
  'request_uri',
] as const;

export const oidcSchema = z.object({
  OIDC_ISSUER: optionalNonEmpty,
  OIDC_CLIENT_ID: optionalNonEmpty,
  OIDC_CLIENT_SECRET: optionalNonEmpty,
  OIDC_SCOPE: z.string().min(1).default('openid'),
  OIDC_LABEL: z.string().min(1).default('OpenID Connect'),
  OIDC_TOKEN_AUTH: optionalNonEmpty.pipe(
    z.enum(OIDC_TOKEN_AUTH_METHODS, { error: 'must be client_secret_basic or client_secret_post' }).optional(),
  ),
  OIDC_LOGOUT_URL: optionalNonEmpty,
  OIDC_PROVIDER_LOGOUT: bool.default(true),
  OIDC_AUTH_PARAMS: optionalNonEmpty,
  OIDC_REQUIRE_ACR: bool.default(false),
  OIDC_USERINFO: bool.default(false),
  OIDC_CLOCK_TOLERANCE: durationMs('OIDC_CLOCK_TOLERANCE').default(30_000),
});

export type OidcEnv = z.infer<typeof oidcSchema>;

/** A standard OAuth 2.0 / OpenID Connect provider (Tencent Cloud CIAM is the reference). */
export interface OidcConfig {
  id: 'oidc';
  label: string;
  /** The issuer identifier; discovery reads {issuer}/.well-known/openid-configuration. */
  issuer: string;
  clientId: string;
  /** Absent for a public client: PKCE only, token endpoint auth `none`. */
  clientSecret?: string;
  scope: string;
  /** Absent: picked from discovery (client_secret_basic preferred). Ignored for a public client. */
  tokenAuth?: OidcTokenAuth;
  /** The provider's own logout page (CIAM: GET {issuer}/logout?client_id&logout_redirect_uri&state); discovery's end_session_endpoint wins over it. */
  logoutUrl?: string;
  /** OIDC_PROVIDER_LOGOUT: Disconnect also sends the browser to the provider's logout (end_session_endpoint, else logoutUrl). False: local only. */
  providerLogout: boolean;
  /** OIDC_AUTH_PARAMS: extra authorization request parameters (prompt, max_age, acr_values, ui_locales, login_hint, …), never a reserved one. */
  authParams: Record<string, string>;
  /** `max_age` from authParams, in seconds: the ID token's auth_time is checked against it. */
  maxAgeSec?: number;
  /** OIDC_REQUIRE_ACR with `acr_values` in authParams: the ID token's acr must be one of these. */
  requiredAcr?: string[];
  /** OIDC_USERINFO: the userinfo endpoint is called after login and after each refresh, its claims merged over the ID token's. */
  userinfo: boolean;
  /** OIDC_CLOCK_TOLERANCE, in seconds: for iat, exp, nbf and auth_time of ID and logout tokens. */
  clockToleranceSec: number;
}

/** The OIDC provider is enabled by OIDC_ISSUER; every other OIDC_* setting is checked against it. */
export function loadOidc(e: OidcEnv, problems: string[]): OidcConfig | undefined {
  if (!e.OIDC_ISSUER) {
    // A half-configured provider would silently not appear: say so instead.
    for (const key of [
      'OIDC_CLIENT_ID',
      'OIDC_CLIENT_SECRET',
      'OIDC_LOGOUT_URL',
      'OIDC_TOKEN_AUTH',
      'OIDC_AUTH_PARAMS',
    ] as const) {
      if (e[key] !== undefined) problems.push(`OIDC_ISSUER: required when ${key} is set`);
    }
    return undefined;
  }
  const issuer = checkProviderUrl('OIDC_ISSUER', e.OIDC_ISSUER, problems);
  const logoutUrl =
    e.OIDC_LOGOUT_URL === undefined ? undefined : checkProviderUrl('OIDC_LOGOUT_URL', e.OIDC_LOGOUT_URL, problems);
  if (!e.OIDC_CLIENT_ID)
    problems.push('OIDC_CLIENT_ID: required when OIDC_ISSUER is set (issued by the provider with the client)');
  if (e.OIDC_TOKEN_AUTH && !e.OIDC_CLIENT_SECRET) {
    problems.push('OIDC_TOKEN_AUTH: needs OIDC_CLIENT_SECRET (a client without a secret is public and uses PKCE only)');
  }
  const scopes = checkScopes(e.OIDC_SCOPE, problems);
  if (!e.OIDC_PROVIDER_LOGOUT && e.OIDC_LOGOUT_URL !== undefined) {
    problems.push('OIDC_LOGOUT_URL: set, but OIDC_PROVIDER_LOGOUT=false keeps logout local; unset one of them');
  }
  const before = problems.length;
  const request = loadAuthRequest(e, problems);
  if (e.OIDC_CLOCK_TOLERANCE > 10 * 60_000) problems.push('OIDC_CLOCK_TOLERANCE: must be at most 10m');

  if (!issuer || !e.OIDC_CLIENT_ID || (e.OIDC_LOGOUT_URL !== undefined && !logoutUrl) || problems.length > before)
    return undefined;
  return {
    id: 'oidc',
    label: e.OIDC_LABEL,
    issuer: e.OIDC_ISSUER,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret: e.OIDC_CLIENT_SECRET,
    scope: scopes.join(' '),
    tokenAuth: e.OIDC_CLIENT_SECRET ? e.OIDC_TOKEN_AUTH : undefined,
    logoutUrl: logoutUrl?.toString(),
    providerLogout: e.OIDC_PROVIDER_LOGOUT,
    ...request,
    userinfo: e.OIDC_USERINFO,
    clockToleranceSec: Math.ceil(e.OIDC_CLOCK_TOLERANCE / 1000),
  };
}

/** OIDC_SCOPE: space-separated scopes, openid among them. */
function checkScopes(raw: string, problems: string[]): string[] {
  const scopes = raw.split(/\s+/).filter(Boolean);
  if (!scopes.includes('openid')) problems.push('OIDC_SCOPE: must include openid (the ID token identifies the person)');
  if (scopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s)))
    problems.push('OIDC_SCOPE: contains characters a scope cannot have');
  return scopes;
}

/** OIDC_AUTH_PARAMS, with the max_age and the acr levels (OIDC_REQUIRE_ACR) the ID token is checked against. */
function loadAuthRequest(e: OidcEnv, problems: string[]): Pick<OidcConfig, 'authParams' | 'maxAgeSec' | 'requiredAcr'> {
  const authParams = e.OIDC_AUTH_PARAMS === undefined ? {} : parseAuthParams(e.OIDC_AUTH_PARAMS, problems);
  const maxAge = authParams.max_age;
  if (maxAge !== undefined && !/^\d{1,9}$/.test(maxAge))
    problems.push('OIDC_AUTH_PARAMS: max_age must be a whole number of seconds');
  const acr = authParams.acr_values?.split(' ').filter(Boolean);
  if (e.OIDC_REQUIRE_ACR && !acr?.length)
    problems.push('OIDC_REQUIRE_ACR: needs acr_values in OIDC_AUTH_PARAMS (the levels to require)');
  return {
    authParams,
    maxAgeSec: maxAge === undefined ? undefined : Number(maxAge),
    requiredAcr: e.OIDC_REQUIRE_ACR ? acr : undefined,
  };
}

/**
 * OIDC_AUTH_PARAMS: `key=value&key=value`, percent-encoded as in a URL query. Each key at most
 * once, none of OIDC_RESERVED_AUTH_PARAMS, values of printable characters.
 */
export function parseAuthParams(raw: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, part] of raw.split('&').entries()) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' ')).trim();
      value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' ')).trim();
    } catch {
      problems.push(`OIDC_AUTH_PARAMS: entry #${i + 1} is not valid percent-encoding`);
      continue;
    }
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(key)) {
      problems.push(`OIDC_AUTH_PARAMS: entry #${i + 1} must be key=value, the key of letters, digits and _ . -`);
      continue;
    }
    if ((OIDC_RESERVED_AUTH_PARAMS as readonly string[]).includes(key)) {
      problems.push(`OIDC_AUTH_PARAMS: ${key} is set by xt-connect itself and cannot be given here`);
      continue;
    }
    if (Object.hasOwn(out, key)) {
      problems.push(`OIDC_AUTH_PARAMS: ${key} is given twice`);
      continue;
    }
    if (value === '' || value.length > 1024 || /\p{Cc}/u.test(value)) {
      problems.push(`OIDC_AUTH_PARAMS: the value of ${key} must be 1 to 1024 printable characters`);
      continue;
    }
    out[key] = value;
  }
  return out;
}

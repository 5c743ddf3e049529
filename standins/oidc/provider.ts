/**
 * The CIAM stand-in's oidc-provider: configured as CIAM's documents describe it (clients, keys,
 * routes, lifetimes, features), with the test hooks in front. rotateKeys() builds a new one over
 * the same store, so it still knows every grant, session and token.
 */
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import { testHooks } from './hooks.js';
import { logoutSource } from './pages.js';
import type { OidcSettings, OidcState } from './state.js';

export function buildProvider(state: OidcState, issuer: string): Provider {
  const p = new Provider(issuer, providerConfig(state));
  p.use(testHooks(state));
  if (state.settings.issuer) p.proxy = true; // behind the TLS proxy: its X-Forwarded-Proto says https
  return p;
}

function providerConfig(state: OidcState): Record<string, unknown> {
  const { settings, keys, store } = state;
  const { account } = settings;
  return {
    adapter: (model: string) => new MemoryAdapter(model, store),
    clients: clientMetadata(settings),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    jwks: { keys: keys.map((k) => k.jwk) },
    cookies: { keys: state.cookieKeys },
    responseTypes: ['code'],
    pkce: { required: () => true }, // v9 only knows S256, CIAM's only method
    scopes: ['openid', 'offline_access'],
    claims: { openid: ['sub', 'name', 'email'] },
    conformIdTokenClaims: false, // name and email go into the ID token, not only to /userinfo
    findAccount: async (_ctx: unknown, sub: string) =>
      sub === account.sub ? { accountId: sub, claims: async () => ({ ...account }) } : undefined,
    // CIAM issues a refresh token with scope=openid alone; oidc-provider wants offline_access unless told.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    features: features(settings),
    fetch: recordingFetch(state),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    acrValues: ['urn:xtc:loa:1', 'urn:xtc:loa:2'],
    routes: {
      authorization: '/oauth2/authorize',
      token: '/oauth2/token',
      jwks: '/oauth2/jwks',
      revocation: '/oauth2/revoke',
      userinfo: '/userinfo',
    },
    ttl: {
      AccessToken: settings.accessTtlSec,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: settings.refreshTtlSec,
      Grant: settings.refreshTtlSec,
      Interaction: 600,
      Session: 3600,
    },
  };
}

/** Every client accepts the same callbacks and logout addresses; each has one token auth method. */
function clientMetadata(settings: OidcSettings) {
  return settings.clients.map((c) => ({
    client_id: c.clientId,
    ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
    token_endpoint_auth_method: c.tokenAuth,
    redirect_uris: settings.redirectUris,
    post_logout_redirect_uris: settings.postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...(settings.backchannelLogoutUri
      ? { backchannel_logout_uri: settings.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
  }));
}

function features(settings: OidcSettings) {
  return {
    devInteractions: { enabled: false },
    // A client may revoke only its own tokens (CIAM: "client_id, client_secret, token").
    revocation: {
      enabled: true,
      allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
        token.clientId === client.clientId,
    },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: !!settings.rpInitiatedLogout, logoutSource },
    backchannelLogout: { enabled: !!settings.backchannelLogoutUri },
  };
}

/**
 * oidc-provider refuses to call loopback addresses (SSRF protection); the stand-in and the
 * app it logs out both live on 127.0.0.1. Each logout token it sends is recorded.
 */
function recordingFetch(state: OidcState) {
  return async (url: string | URL, init: RequestInit & { dispatcher?: unknown }) => {
    const { dispatcher: _ssrf, ...rest } = init;
    const token = rest.body instanceof URLSearchParams ? rest.body.get('logout_token') : null;
    try {
      const res = await fetch(url, rest);
      if (token) state.backchannel.push({ token, status: res.status });
      return res;
    } catch (err) {
      if (token) state.backchannel.push({ token, status: 0 });
      throw err;
    }
  };
}

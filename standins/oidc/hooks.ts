/**
 * The CIAM stand-in's test hooks, around oidc-provider's own handling of each request: call
 * counters, injected failures, ID-token and userinfo tampering, and the record of what was issued.
 */
import type { ProviderContext, ProviderMiddleware } from 'oidc-provider';
import type { OidcFailure, OidcRoute } from '../oidc.js';
import { tamperIdToken } from './keys.js';
import type { OidcState } from './state.js';

const ROUTES: Record<string, OidcRoute> = {
  '/.well-known/openid-configuration': 'discovery',
  '/oauth2/jwks': 'jwks',
  '/oauth2/token': 'token',
  '/oauth2/revoke': 'revocation',
  '/userinfo': 'userinfo',
  '/session/end': 'end_session',
};

/** Counting, failure injection and tampering, around oidc-provider's own handling. */
export function testHooks(state: OidcState): ProviderMiddleware {
  return async function hooks(ctx, next) {
    const route = ROUTES[ctx.path];
    if (route) state.calls[route] += 1;
    const i = state.failures.findIndex((f) => f.route === route);
    if (route && i >= 0) {
      const [f] = state.failures.splice(i, 1);
      return fail(state, ctx, f!.kind);
    }
    await next();

    if (route === 'userinfo') tamperUserinfo(state, ctx);
    recordCode(state, ctx);
    if (route === 'token') await afterToken(state, ctx);
  };
}

/** Answers as the failure asks, instead of oidc-provider. */
async function fail(state: OidcState, ctx: ProviderContext, kind: OidcFailure): Promise<void> {
  if (kind === 'timeout') await state.sleep(state.settings.hangMs);
  const json = (status: number, body: unknown) => {
    ctx.status = status;
    ctx.body = body;
  };
  if (kind === 'invalid_grant') return json(400, { error: 'invalid_grant' });
  if (kind === 'invalid_client') return json(401, { error: 'invalid_client' });
  if (kind === 'http500' || kind === 'timeout') return json(kind === 'timeout' ? 504 : 500, { error: 'server_error' });
  ctx.status = kind === 'html502' ? 502 : 200;
  ctx.set('Content-Type', 'text/html');
  ctx.body = '<html><body>Bad gateway</body></html>';
}

/** A successful userinfo answer, changed as the next userinfo tamper asks. */
function tamperUserinfo(state: OidcState, ctx: ProviderContext): void {
  if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
  const change = state.userinfoTampers.shift();
  const body = ctx.body as Record<string, unknown>;
  if (change) ctx.body = typeof change === 'function' ? change(body) : { ...body, ...change };
}

/** A code handed out in a redirect (the authorization endpoint's answer) is recorded as issued. */
function recordCode(state: OidcState, ctx: ProviderContext): void {
  const location = ctx.response.get('location') ?? '';
  if (location.includes('code=')) {
    const code = new URL(location, 'http://x').searchParams.get('code');
    if (code) state.issued.push(code);
  }
}

/** The token endpoint: counts by grant, records the refresh token presented, tampers the ID token, records the tokens. */
async function afterToken(state: OidcState, ctx: ProviderContext): Promise<void> {
  const grant = ctx.oidc?.params?.grant_type;
  if (grant === 'authorization_code' || grant === 'refresh_token') state.calls[grant] += 1;
  const presented = ctx.oidc?.params?.refresh_token;
  if (typeof presented === 'string') state.refreshTokensPresented.push(presented);
  if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
  const body = ctx.body as Record<string, unknown>;
  const change = state.tampers.shift();
  if (change && typeof body.id_token === 'string')
    body.id_token = await tamperIdToken(state.keys, body.id_token, change);
  for (const k of ['access_token', 'refresh_token', 'id_token'])
    if (typeof body[k] === 'string') state.issued.push(body[k]);
  if (typeof body.refresh_token === 'string') state.refreshTokensIssued.push(body.refresh_token);
}

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
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as jose from 'jose';
import Provider, { type ProviderContext } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

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

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: jose.JWK;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const jwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk };
}

/**
 * The first signing key is shared by every stand-in in the process: an RSA key takes a few
 * hundred milliseconds to make, and the tests start a fresh stand-in each. rotateKeys() makes
 * keys of the stand-in's own.
 */
let firstKey: Promise<SigningKey> | undefined;

const ROUTES: Record<string, OidcRoute> = {
  '/.well-known/openid-configuration': 'discovery',
  '/oauth2/jwks': 'jwks',
  '/oauth2/token': 'token',
  '/oauth2/revoke': 'revocation',
  '/userinfo': 'userinfo',
  '/session/end': 'end_session',
};

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The sign-in page's words: English, Simplified and Traditional Chinese, from ui_locales (else Accept-Language). */
const WORDS = {
  en: {
    title: 'Sign in · Tencent Cloud CIAM (stand-in)',
    signIn: 'Sign in to',
    signedInAs: 'Signed in as',
    asks: 'The application asks for:',
    approve: 'Approve',
    deny: 'Deny',
    standIn: 'Stand-in for Tencent Cloud CIAM, built on oidc-provider. Not a real identity provider.',
    signOutTitle: 'Sign out · Tencent Cloud CIAM (stand-in)',
    signOutAsk: 'Sign out of Tencent Cloud CIAM?',
    signOut: 'Yes, sign me out',
    stay: 'No, stay signed in',
  },
  'zh-CN': {
    title: '登录 · 腾讯云 CIAM（模拟）',
    signIn: '登录到',
    signedInAs: '当前登录用户：',
    asks: '该应用请求：',
    approve: '批准',
    deny: '拒绝',
    standIn: '这是基于 oidc-provider 的腾讯云 CIAM 模拟页面，不是真正的身份服务。',
    signOutTitle: '退出登录 · 腾讯云 CIAM（模拟）',
    signOutAsk: '要退出腾讯云 CIAM 吗？',
    signOut: '是，退出登录',
    stay: '不，保持登录',
  },
  'zh-Hant': {
    title: '登入 · 騰訊雲 CIAM（模擬）',
    signIn: '登入到',
    signedInAs: '目前登入用戶：',
    asks: '該應用程式請求：',
    approve: '批准',
    deny: '拒絕',
    standIn: '這是基於 oidc-provider 的騰訊雲 CIAM 模擬頁面，不是真正的身分服務。',
    signOutTitle: '登出 · 騰訊雲 CIAM（模擬）',
    signOutAsk: '要登出騰訊雲 CIAM 嗎？',
    signOut: '是，登出',
    stay: '不，保持登入',
  },
} as const;
type PageLang = keyof typeof WORDS;

function pageLang(uiLocales: unknown, acceptLanguage: string | undefined): PageLang {
  const first =
    (typeof uiLocales === 'string' && uiLocales.trim() ? uiLocales : (acceptLanguage ?? '')).split(/[\s,;]+/)[0] ?? '';
  if (/^zh-(hk|tw|mo|hant)/i.test(first)) return 'zh-Hant';
  return /^zh/i.test(first) ? 'zh-CN' : 'en';
}

const page = (
  title: string,
  body: string,
  lang: PageLang = 'en',
) => `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>${esc(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;background:#f3f5f8;color:#1d2129;display:grid;place-items:center;min-height:100vh;margin:0}
.box{background:#fff;padding:28px 32px;border-radius:8px;max-width:440px;margin:16px;box-shadow:0 2px 12px rgba(0,0,0,.08);overflow-wrap:anywhere}h1{font-size:1.25rem}
button{font:inherit;min-height:44px;padding:10px 20px;border-radius:4px;border:0;margin:0 8px 8px 0;cursor:pointer}.ok{background:#0052d9;color:#fff}.no{background:#e7e7e7}
.muted{color:#5c6673;font-size:.9rem}.standin{display:inline-block;margin:0 0 8px;padding:4px 10px;border-radius:4px;background:#fff4d6;color:#6b4a00;font-size:.85rem;font-weight:600}</style></head><body><div class="box">${body}</div></body></html>`;

/** RP-initiated logout's confirmation page, in the stand-in's look and the language asked for (ui_locales). */
async function logoutSource(ctx: ProviderContext, form: string): Promise<void> {
  const lang = pageLang(ctx.oidc?.params?.ui_locales, ctx.get('accept-language'));
  const w = WORDS[lang];
  ctx.type = 'html';
  ctx.body = page(
    w.signOutTitle,
    `<p class="standin">${w.standIn}</p><h1>${w.signOutAsk}</h1>${form}
<button class="ok" type="submit" form="op.logoutForm" name="logout" value="yes">${w.signOut}</button>
<button class="no" type="submit" form="op.logoutForm">${w.stay}</button>`,
    lang,
  );
}

export async function startOidcStandIn(opts: OidcStandInOptions = {}): Promise<OidcStandIn> {
  const host = opts.host ?? '127.0.0.1';
  const clients: StandInClient[] = opts.clients ?? Object.values(OIDC_CLIENTS);
  const redirectUris = opts.redirectUris ?? [
    'http://127.0.0.1:3999/auth/oidc/callback',
    'http://localhost:3000/auth/oidc/callback',
  ];
  const postLogoutRedirectUris = opts.postLogoutRedirectUris ?? ['http://127.0.0.1:3999/', 'http://localhost:3000/'];
  const account = opts.account ?? { sub: 'ciam-user-7f3a9c', name: 'Li Lei', email: 'li.lei@example.com' };
  const accessTtlSec = opts.accessTtlSec ?? 299;
  const refreshTtlSec = opts.refreshTtlSec ?? 30 * 86_400;
  const hangMs = opts.hangMs ?? 30_000;

  const keys: SigningKey[] = [await (firstKey ??= newSigningKey())];
  const cookieKeys = [randomBytes(32).toString('base64url')];
  // The stand-in's "database": oidc-provider's own in-memory adapter over one Map, so that a
  // provider rebuilt by rotateKeys() still knows every grant, session and token.
  const store = new Map<string, unknown>();
  const calls: OidcStandIn['calls'] = {
    discovery: 0,
    jwks: 0,
    token: 0,
    revocation: 0,
    userinfo: 0,
    end_session: 0,
    authorization_code: 0,
    refresh_token: 0,
    logout: 0,
  };
  const failures: { route: OidcRoute; kind: OidcFailure }[] = [];
  const tampers: IdTokenTamper[] = [];
  const userinfoTampers: Parameters<OidcStandIn['tamperNextUserinfo']>[0][] = [];
  const backchannel: OidcStandIn['backchannel'] = [];
  const issued: string[] = [];
  const refreshTokensIssued: string[] = [];
  const refreshTokensPresented: string[] = [];
  const hanging = new Set<NodeJS.Timeout>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        hanging.delete(t);
        resolve();
      }, ms);
      hanging.add(t);
    });

  async function fail(ctx: ProviderContext, kind: OidcFailure): Promise<void> {
    if (kind === 'timeout') await sleep(hangMs);
    const json = (status: number, body: unknown) => {
      ctx.status = status;
      ctx.body = body;
    };
    if (kind === 'invalid_grant') return json(400, { error: 'invalid_grant' });
    if (kind === 'invalid_client') return json(401, { error: 'invalid_client' });
    if (kind === 'http500' || kind === 'timeout')
      return json(kind === 'timeout' ? 504 : 500, { error: 'server_error' });
    ctx.status = kind === 'html502' ? 502 : 200;
    ctx.set('Content-Type', 'text/html');
    ctx.body = '<html><body>Bad gateway</body></html>';
  }

  async function tamper(idToken: string, change: IdTokenTamper): Promise<string> {
    const claims = jose.decodeJwt(idToken);
    const current = keys[0]!;
    if (change === 'bad_signature') {
      // Same kid, same claims, someone else's key: only the signature check can catch it.
      const rogue = await newSigningKey();
      return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: current.kid }).sign(rogue.privateKey);
    }
    const next = typeof change === 'function' ? change(claims) : { ...claims, ...change };
    return new jose.SignJWT(next).setProtectedHeader({ alg: 'RS256', kid: current.kid }).sign(current.privateKey);
  }

  /** Counting, failure injection and tampering, around oidc-provider's own handling. */
  async function hooks(ctx: ProviderContext, next: () => Promise<void>): Promise<void> {
    const route = ROUTES[ctx.path];
    if (route) calls[route] += 1;
    const i = failures.findIndex((f) => f.route === route);
    if (route && i >= 0) {
      const [f] = failures.splice(i, 1);
      return fail(ctx, f!.kind);
    }
    await next();

    if (route === 'userinfo' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      const change = userinfoTampers.shift();
      const body = ctx.body as Record<string, unknown>;
      if (change) ctx.body = typeof change === 'function' ? change(body) : { ...body, ...change };
    }
    const location = ctx.response.get('location') ?? '';
    if (location.includes('code=')) {
      const code = new URL(location, 'http://x').searchParams.get('code');
      if (code) issued.push(code);
    }
    if (route !== 'token') return;
    const grant = ctx.oidc?.params?.grant_type;
    if (grant === 'authorization_code' || grant === 'refresh_token') calls[grant] += 1;
    const presented = ctx.oidc?.params?.refresh_token;
    if (typeof presented === 'string') refreshTokensPresented.push(presented);
    if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    const body = ctx.body as Record<string, unknown>;
    const change = tampers.shift();
    if (change && typeof body.id_token === 'string') body.id_token = await tamper(body.id_token, change);
    for (const k of ['access_token', 'refresh_token', 'id_token'])
      if (typeof body[k] === 'string') issued.push(body[k]);
    if (typeof body.refresh_token === 'string') refreshTokensIssued.push(body.refresh_token);
  }

  function build(issuer: string): Provider {
    const p = new Provider(issuer, {
      adapter: (model: string) => new MemoryAdapter(model, store),
      clients: clients.map((c) => ({
        client_id: c.clientId,
        ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
        token_endpoint_auth_method: c.tokenAuth,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogoutRedirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        ...(opts.backchannelLogoutUri
          ? { backchannel_logout_uri: opts.backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
      })),
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      jwks: { keys: keys.map((k) => k.jwk) },
      cookies: { keys: cookieKeys },
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
      features: {
        devInteractions: { enabled: false },
        // A client may revoke only its own tokens (CIAM: "client_id, client_secret, token").
        revocation: {
          enabled: true,
          allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) =>
            token.clientId === client.clientId,
        },
        userinfo: { enabled: true },
        rpInitiatedLogout: { enabled: !!opts.rpInitiatedLogout, logoutSource },
        backchannelLogout: { enabled: !!opts.backchannelLogoutUri },
      },
      // oidc-provider refuses to call loopback addresses (SSRF protection); the stand-in and the
      // app it logs out both live on 127.0.0.1. Each logout token it sends is recorded.
      fetch: async (url: string | URL, init: RequestInit & { dispatcher?: unknown }) => {
        const { dispatcher: _ssrf, ...rest } = init;
        const token = rest.body instanceof URLSearchParams ? rest.body.get('logout_token') : null;
        try {
          const res = await fetch(url, rest);
          if (token) backchannel.push({ token, status: res.status });
          return res;
        } catch (err) {
          if (token) backchannel.push({ token, status: 0 });
          throw err;
        }
      },
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
        AccessToken: accessTtlSec,
        AuthorizationCode: 60,
        IdToken: 3600,
        RefreshToken: refreshTtlSec,
        Grant: refreshTtlSec,
        Interaction: 600,
        Session: 3600,
      },
    });
    p.use(hooks);
    if (opts.issuer) p.proxy = true; // behind the TLS proxy: its X-Forwarded-Proto says https
    return p;
  }

  const app = express();
  app.disable('x-powered-by');
  let provider!: Provider;
  let handler!: ReturnType<Provider['callback']>;
  const serve = (p: Provider) => {
    provider = p;
    handler = p.callback();
  };

  const wrap =
    (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) =>
      fn(req, res).catch(next);

  app.get(
    '/interaction/:uid',
    wrap(async (req, res) => {
      const details = await provider.interactionDetails(req, res);
      const client = typeof details.params.client_id === 'string' ? details.params.client_id : '';
      const scope = typeof details.params.scope === 'string' ? details.params.scope : '';
      const lang = pageLang(details.params.ui_locales, req.get('accept-language'));
      const w = WORDS[lang];
      res.set('Cache-Control', 'no-store').send(
        page(
          w.title,
          `<p class="standin">${w.standIn}</p><h1>${w.signIn} ${esc(client)}</h1><p>${w.signedInAs} <b>${esc(account.name)}</b> &lt;${esc(account.email)}&gt;</p>
<p class="muted">${w.asks} ${esc(scope)}</p>
<form method="post" action="/interaction/${esc(details.uid)}/approve" style="display:inline"><button class="ok" type="submit">${w.approve}</button></form>
<form method="post" action="/interaction/${esc(details.uid)}/deny" style="display:inline"><button class="no" type="submit">${w.deny}</button></form>`,
          lang,
        ),
      );
    }),
  );

  // Sign-in and consent in one step: the stand-in has one user, and "Approve" grants what was asked.
  app.post(
    '/interaction/:uid/approve',
    express.urlencoded({ extended: false, limit: '4kb' }),
    wrap(async (req, res) => {
      const details = await provider.interactionDetails(req, res);
      const clientId = String(details.params.client_id);
      const grant =
        (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
        new provider.Grant({ accountId: account.sub, clientId });
      grant.addOIDCScope(typeof details.params.scope === 'string' ? details.params.scope : 'openid');
      const missingClaims = details.prompt.details.missingOIDCClaims;
      if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims as string[]);
      const grantId = await grant.save();
      // The first level asked for in acr_values is the one "reached" (the stand-in has one way to sign in).
      const acr = typeof details.params.acr_values === 'string' ? details.params.acr_values.split(' ')[0] : undefined;
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account.sub, ...(acr ? { acr } : {}) }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    }),
  );

  app.post(
    '/interaction/:uid/deny',
    wrap(async (req, res) => {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      );
    }),
  );

  // CIAM's own logout (not RP-initiated logout): ends the portal session and goes back.
  app.get('/logout', (req, res) => {
    calls.logout += 1;
    const clientId = typeof req.query.client_id === 'string' ? req.query.client_id : '';
    const back = typeof req.query.logout_redirect_uri === 'string' ? req.query.logout_redirect_uri : '';
    if (!clients.some((c) => c.clientId === clientId) || !postLogoutRedirectUris.includes(back)) {
      res.status(400).type('text/plain').send('invalid client_id or logout_redirect_uri');
      return;
    }
    const url = new URL(back);
    if (typeof req.query.state === 'string') url.searchParams.set('state', req.query.state);
    res.redirect(302, url.toString());
  });

  app.use((req, res) => handler(req, res));
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(400).type('text/plain').send(`interaction failed: ${err.name}`);
  });

  const server: Server = app.listen(opts.port ?? 0, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = opts.issuer ?? `http://${host}:${port}`;
  serve(build(issuer));

  return {
    issuer,
    port,
    get provider() {
      return provider;
    },
    account,
    calls,
    refreshTokensIssued,
    refreshTokensPresented,
    failNext(route, kind, count = 1) {
      for (let i = 0; i < count; i++) failures.push({ route, kind });
    },
    tamperNextIdToken(change) {
      tampers.push(change);
    },
    tamperNextUserinfo(change) {
      userinfoTampers.push(change);
    },
    async signJwt(payload, header = {}) {
      const current = keys[0]!;
      const jwt = await new jose.SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: current.kid, ...header })
        .sign(current.privateKey);
      issued.push(jwt); // searched for in the logs like every token
      return jwt;
    },
    backchannel,
    async rotateKeys() {
      keys.unshift(await newSigningKey());
      serve(build(issuer));
    },
    async forgetRefreshToken(token) {
      const rt = await provider.RefreshToken.find(token);
      await rt?.destroy();
    },
    issued: () => [...issued, ...backchannel.map((b) => b.token)],
    async close() {
      for (const t of hanging) clearTimeout(t);
      hanging.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

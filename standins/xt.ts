/**
 * A stand-in for XT.COM, written from XT.COM's OAuth 2.0 documents:
 *  - GET  /{lang}/accounts/oauth2            the authorization page (Authorize / Deny)
 *  - GET  /public/uaa/oauth2/token           code exchange and refresh, secret in the query, {rc,mc,ma,result}
 *  - GET  /v4/public/time and the signed user APIs (/spot/v4/…, /user/account/api-key): xtUser.ts
 * Tokens are RS256 JWTs with `exp`. Codes are single use. Failures can be injected for tests and demos.
 * It serves the demo and the tests; it is not part of the production image.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import * as jose from 'jose';
import {
  type ApiLogEntry,
  type XtApiFailure,
  type XtUserApiOptions,
  type XtUserApiSettings,
  newUserApiState,
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

interface Grant {
  userId: string;
  scope: string;
  clientId: string;
  redirectUri: string;
  expiresAt: number;
}

interface RefreshGrant {
  userId: string;
  scope: string;
  expiresAt: number;
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

/** The stand-in's page words: English, Simplified Chinese (zh-CN) and Traditional Chinese (zh-HK), by the page's {lang}. */
const WORDS = {
  en: {
    standIn: 'Stand-in for testing. This is not the real XT.COM.',
    authorize: 'Authorize',
    deny: 'Deny',
    asks: 'This institution asks to access your XT.COM account',
    invalid: 'Invalid authorization request',
    invalidWhy: 'client_id, redirect_uri or response_type is wrong.',
    user: 'user',
    register: 'Create an XT.COM account',
    registerWhy: 'This demo creates no account: every approval on this stand-in signs in as its demo user',
    registerBack: 'Go back to the site and click Connect.',
  },
  'zh-CN': {
    standIn: '这是用于测试的模拟页面，不是真正的 XT.COM。',
    authorize: '授权',
    deny: '拒绝',
    asks: '该机构请求访问您的 XT.COM 账户',
    invalid: '授权请求无效',
    invalidWhy: 'client_id、redirect_uri 或 response_type 有误。',
    user: '用户',
    register: '注册 XT.COM 账户',
    registerWhy: '此演示不会创建账户：在这个模拟页面上的每次授权，都以演示用户的身份登录，用户编号为',
    registerBack: '请返回网站，点击“连接”。',
  },
  'zh-HK': {
    standIn: '這是用於測試的模擬頁面，不是真正的 XT.COM。',
    authorize: '授權',
    deny: '拒絕',
    asks: '該機構請求存取您的 XT.COM 帳戶',
    invalid: '授權請求無效',
    invalidWhy: 'client_id、redirect_uri 或 response_type 有誤。',
    user: '用戶',
    register: '註冊 XT.COM 帳戶',
    registerWhy: '此示範不會建立帳戶：在這個模擬頁面上的每次授權，都以示範用戶的身分登入，用戶編號為',
    registerBack: '請返回網站，按「連接」。',
  },
} as const;
type PageLang = keyof typeof WORDS;
const pageLang = (lang: string): PageLang =>
  /^zh-(hk|tw|mo|hant)/i.test(lang) ? 'zh-HK' : /^zh/i.test(lang) ? 'zh-CN' : 'en';

const page = (
  title: string,
  body: string,
  lang: PageLang = 'en',
) => `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;background:#0b0e11;color:#eaecef;display:grid;place-items:center;min-height:100vh;margin:0}
.box{background:#181a20;padding:28px 32px;border-radius:12px;max-width:420px;margin:16px}h1{font-size:1.3rem}button{font:inherit;min-height:44px;padding:10px 20px;border-radius:8px;border:0;margin:0 8px 8px 0;cursor:pointer}
.ok{background:#f0b90b;color:#000}.no{background:#2b3139;color:#eaecef}.muted{color:#9aa4b2;font-size:.9rem;overflow-wrap:anywhere}
.standin{display:inline-block;margin:0 0 8px;padding:4px 10px;border-radius:6px;background:#3a2f05;color:#f8d66d;font-size:.85rem;font-weight:600}</style></head><body><div class="box"><p class="standin">${WORDS[lang].standIn}</p>${body}</div></body></html>`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * One RSA key per process, shared by every stand-in it starts: making a key takes a few hundred
 * milliseconds, and the tests start a fresh stand-in each. Tokens stay distinct (each has a jti).
 */
let sharedKey: Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> | undefined;
const processSigningKey = () => (sharedKey ??= jose.generateKeyPair('RS256'));

export async function startXtStandIn(opts: XtStandInOptions = {}): Promise<XtStandIn> {
  const options = {
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
  const now = () => options.now();
  const { privateKey, publicKey } = await processSigningKey();
  const codes = new Map<string, Grant>();
  const refreshTokens = new Map<string, RefreshGrant>();
  const issued: string[] = [];
  let accessEpoch = 0;
  const failures: { kind: XtFailure; grant?: string }[] = [];
  const overrides: { patch: Record<string, unknown> | ((r: Record<string, unknown>) => unknown); raw: boolean }[] = [];
  const api = newUserApiState();
  const calls = Object.assign(api.calls, { authorization_code: 0, refresh_token: 0 });
  const refreshTokensPresented: string[] = [];
  const rawResponses: { status?: number; contentType?: string; body: string }[] = [];
  const hanging = new Set<NodeJS.Timeout>();

  async function jwt(claims: Record<string, unknown>, ttlSec: number): Promise<string> {
    const b = new jose.SignJWT({ ...claims, jti: randomBytes(8).toString('hex'), epoch: accessEpoch })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('xt.com')
      .setSubject('1');
    b.setIssuedAt(Math.floor(now() / 1000));
    if (!options.omitExp) b.setExpirationTime(Math.floor(now() / 1000) + ttlSec);
    const token = await b.sign(privateKey);
    issued.push(token);
    return token;
  }

  async function issue(userId: string, scope: string, includeUser: boolean, oldRefresh?: string) {
    const claims = { 'user-id': Number(userId) || userId, scope, client_id: options.clientId };
    const access = await jwt({ ...claims, typ: 'access' }, options.accessTtlSec);
    let refresh: string | undefined;
    if (!oldRefresh || options.rotateRefreshTokens) {
      refresh = await jwt({ ...claims, typ: 'refresh' }, options.refreshTtlSec);
      refreshTokens.set(refresh, { userId, scope, expiresAt: now() + options.refreshTtlSec * 1000 });
      if (oldRefresh) refreshTokens.delete(oldRefresh);
    }
    const unit = options.expiresInUnit === 'ms' ? 1000 : 1;
    const result: Record<string, unknown> = {
      ...(includeUser ? { user_id: userId } : {}),
      access_token: access,
      ...(refresh ? { refresh_token: refresh } : {}),
      expires_in: options.accessTtlSec * unit - 1,
      ...(refresh ? { refresh_expires_in: options.refreshTtlSec * unit - 1 } : {}),
      client_id: options.clientId,
      scope,
    };
    return result;
  }

  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));
  app.use(envelopeShape(options));

  app.get('/:lang/accounts/oauth2', (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const valid =
      q.response_type === 'code' &&
      q.client_id === options.clientId &&
      typeof q.redirect_uri === 'string' &&
      /^https?:\/\//.test(q.redirect_uri) &&
      (options.redirectUris.length === 0 || options.redirectUris.includes(q.redirect_uri));
    const lang = pageLang(String(req.params.lang));
    const w = WORDS[lang];
    if (!valid) {
      res.status(400).send(page('XT.COM', `<h1>${w.invalid}</h1><p class="muted">${w.invalidWhy}</p>`, lang));
      return;
    }
    const hidden = ['client_id', 'redirect_uri', 'scope', 'state']
      .map((k) => `<input type="hidden" name="${k}" value="${esc(q[k] ?? '')}">`)
      .join('');
    const scope = lang === 'en' ? ` (${esc(q.scope ?? '')})` : `（${esc(q.scope ?? '')}）`;
    res.send(
      page(
        'XT.COM',
        `<h1>${w.authorize} ${esc(options.clientId)}</h1>
         <p>${w.asks}${scope}${lang === 'en' ? '.' : '。'}</p>
         <p class="muted">XT.COM · ${w.user} ${esc(options.userId)} · ${esc(String(req.params.lang))}</p>
         <form method="post" action="/${esc(String(req.params.lang))}/accounts/oauth2/decision">${hidden}
         <button class="ok" name="decision" value="approve">${w.authorize}</button>
         <button class="no" name="decision" value="deny">${w.deny}</button></form>`,
        lang,
      ),
    );
  });

  // XT.COM's registration page (XT_REGISTER_URL): the demo's "Create one" link stays in the sandbox.
  app.get('/:lang/accounts/register', (req, res) => {
    const lang = pageLang(String(req.params.lang));
    const w = WORDS[lang];
    const stop = lang === 'en' ? '.' : '。';
    res.send(
      page(
        'XT.COM',
        `<h1>${w.register}</h1><p>${w.registerWhy} ${esc(options.userId)}${stop}</p><p>${w.registerBack}</p>`,
        lang,
      ),
    );
  });

  app.post('/:lang/accounts/oauth2/decision', (req, res) => {
    const b = req.body as Record<string, string>;
    if (b.client_id !== options.clientId || !/^https?:\/\//.test(b.redirect_uri ?? '')) {
      res.status(400).send('bad request');
      return;
    }
    const target = new URL(b.redirect_uri!);
    if (b.decision === 'approve') {
      const code = randomBytes(16).toString('hex');
      issued.push(code);
      // A stand-in-only field lets benchmarks and tests approve as many different people.
      const userId = typeof b.as_user === 'string' && /^\d{1,12}$/.test(b.as_user) ? b.as_user : options.userId;
      codes.set(code, {
        userId,
        scope: b.scope || 'userinfo',
        clientId: b.client_id,
        redirectUri: b.redirect_uri!,
        expiresAt: now() + 5 * 60_000,
      });
      target.searchParams.set('code', code);
    } else {
      target.searchParams.set('error', 'access_denied');
    }
    if (b.state) target.searchParams.set('state', b.state);
    res.redirect(302, target.toString());
  });

  const envelope = (rc: number, mc: string, result: unknown = null) => ({ rc, mc, ma: [], result });

  app.get('/public/uaa/oauth2/token', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const grant = q.grant_type ?? '';
    if (grant === 'authorization_code' || grant === 'refresh_token') calls[grant]++;
    if (options.tokenDelayMs > 0) await new Promise((r) => setTimeout(r, options.tokenDelayMs));

    const fi = failures.findIndex((f) => !f.grant || f.grant === grant);
    if (fi >= 0) {
      const [f] = failures.splice(fi, 1);
      switch (f!.kind) {
        case 'reject':
          res.json(envelope(1, 'FAILURE'));
          return;
        case 'timeout': {
          const t = setTimeout(() => {
            hanging.delete(t);
            if (!res.headersSent) res.status(504).send('<html>timeout</html>');
          }, options.hangMs);
          hanging.add(t);
          return;
        }
        case 'http500':
          res.status(500).json(envelope(1, 'FAILURE'));
          return;
        case 'html502':
          res.status(502).type('html').send('<html><body><h1>502 Bad Gateway</h1></body></html>');
          return;
        case 'rate429':
          res.status(429).type('text').send('Too Many Requests');
          return;
        case 'truncated':
          res.type('json').send('{"rc":0,"mc":"SUCCESS","ma":[],"result":{"access_tok');
          return;
      }
    }

    if (q.client_id !== options.clientId) {
      res.json(envelope(1, 'AUTH_101'));
      return;
    }
    if (q.client_secret !== options.clientSecret) {
      res.json(envelope(1, 'AUTH_103'));
      return;
    }
    let result: Record<string, unknown>;
    if (grant === 'authorization_code') {
      const g = q.code ? codes.get(q.code) : undefined;
      if (q.code) codes.delete(q.code); // single use, even when it fails
      if (!g || g.expiresAt < now()) {
        res.json(envelope(1, 'FAILURE'));
        return;
      }
      result = await issue(g.userId, g.scope, true);
    } else if (grant === 'refresh_token') {
      if (q.refresh_token) refreshTokensPresented.push(q.refresh_token);
      const r = q.refresh_token ? refreshTokens.get(q.refresh_token) : undefined;
      if (!r || r.expiresAt < now()) {
        res.json(envelope(1, 'FAILURE'));
        return;
      }
      result = await issue(r.userId, r.scope, false, q.refresh_token);
    } else {
      res.json(envelope(1, 'FAILURE'));
      return;
    }
    if (options.answerDelayMs > 0) {
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          hanging.delete(t);
          r();
        }, options.answerDelayMs);
        hanging.add(t);
      });
    }
    const raw = rawResponses.shift();
    if (raw) {
      res
        .status(raw.status ?? 200)
        .type(raw.contentType ?? 'application/json')
        .send(raw.body);
      return;
    }
    const o = overrides.shift();
    if (o) {
      if (o.raw) {
        const body = typeof o.patch === 'function' ? o.patch(result) : o.patch;
        if (typeof body === 'string') res.type('json').send(body);
        else res.json(body);
        return;
      }
      result = typeof o.patch === 'function' ? (o.patch(result) as Record<string, unknown>) : { ...result, ...o.patch };
    }
    res.json(envelope(0, 'SUCCESS', result));
  });

  /** The XT.COM user id an access token stands for, or undefined when XT.COM would refuse it. */
  async function verifyAccessToken(token: string | undefined): Promise<string | undefined> {
    if (!token) return undefined;
    try {
      const { payload } = await jose.jwtVerify(token, publicKey, { issuer: 'xt.com', currentDate: new Date(now()) });
      if (payload.typ !== 'access' || (payload.epoch as number) < accessEpoch) return undefined;
      return String(payload['user-id']);
    } catch {
      return undefined;
    }
  }
  app.use(userApiRouter(options, api, verifyAccessToken));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    refreshTokensPresented,
    options,
    failApiNext(kind, count = 1) {
      for (let i = 0; i < count; i++) api.failures.push(kind);
    },
    apiLog: () => api.log.map((e) => ({ ...e })),
    signatures: () => [...api.signatures],
    signedStrings: () => [...api.signedStrings],
    failNext(kind, count = 1, grant) {
      for (let i = 0; i < count; i++) failures.push({ kind, grant });
    },
    issued: () => [...issued, options.apiSecret, ...api.secrets, ...api.signatures, ...api.signedStrings],
    revokeAccessTokens() {
      accessEpoch++;
    },
    revokeRefreshTokens() {
      refreshTokens.clear();
    },
    respondNextWith(r) {
      rawResponses.push(r);
    },
    overrideNextResult(patch, raw = false) {
      overrides.push({ patch, raw });
    },
    async close() {
      for (const t of [...hanging, ...api.hanging]) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

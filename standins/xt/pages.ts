/** The XT.COM stand-in's pages: the authorization page (or its "invalid request"), and the registration page. */

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
export type PageLang = keyof typeof WORDS;
export const pageLang = (lang: string): PageLang =>
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

export const invalidRequestPage = (lang: PageLang) =>
  page('XT.COM', `<h1>${WORDS[lang].invalid}</h1><p class="muted">${WORDS[lang].invalidWhy}</p>`, lang);

/**
 * The authorization page: who asks, for what, and Authorize / Deny, posting the request's
 * client_id, redirect_uri, scope and state on to /{lang}/accounts/oauth2/decision.
 */
export function authorizePage(
  lang: PageLang,
  urlLang: string,
  q: Record<string, string | undefined>,
  who: { clientId: string; userId: string },
): string {
  const w = WORDS[lang];
  const hidden = ['client_id', 'redirect_uri', 'scope', 'state']
    .map((k) => `<input type="hidden" name="${k}" value="${esc(q[k] ?? '')}">`)
    .join('');
  const scope = lang === 'en' ? ` (${esc(q.scope ?? '')})` : `（${esc(q.scope ?? '')}）`;
  return page(
    'XT.COM',
    `<h1>${w.authorize} ${esc(who.clientId)}</h1>
         <p>${w.asks}${scope}${lang === 'en' ? '.' : '。'}</p>
         <p class="muted">XT.COM · ${w.user} ${esc(who.userId)} · ${esc(urlLang)}</p>
         <form method="post" action="/${esc(urlLang)}/accounts/oauth2/decision">${hidden}
         <button class="ok" name="decision" value="approve">${w.authorize}</button>
         <button class="no" name="decision" value="deny">${w.deny}</button></form>`,
    lang,
  );
}

/** XT.COM's registration page, as the stand-in has it: no account is made, every approval is the demo user. */
export function registerPage(lang: PageLang, userId: string): string {
  const w = WORDS[lang];
  const stop = lang === 'en' ? '.' : '。';
  return page(
    'XT.COM',
    `<h1>${w.register}</h1><p>${w.registerWhy} ${esc(userId)}${stop}</p><p>${w.registerBack}</p>`,
    lang,
  );
}

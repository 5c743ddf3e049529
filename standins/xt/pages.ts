/** The XT.COM stand-in's pages: the authorization page (or its "invalid request"), and the registration page. */
import words from './words.json' with { type: 'json' };

/**
 * The stand-in's page words (words.json), in each of XT.COM's eleven page languages, by the
 * page's {lang} (XT.COM's own tags: zh-HK for Traditional Chinese).
 */
const WORDS: Record<PageLang, Record<keyof typeof words.en, string>> = words;
export type PageLang = keyof typeof words;
const LANGS = Object.keys(WORDS) as PageLang[];
/** The page language for XT.COM's {lang}: one of its own, Traditional Chinese for zh-TW/zh-MO/zh-Hant, else English. */
export const pageLang = (lang: string): PageLang =>
  LANGS.find((l) => l.toLowerCase() === lang.toLowerCase()) ??
  (/^zh-(hk|tw|mo|hant)/i.test(lang) ? 'zh-HK' : /^zh/i.test(lang) ? 'zh-CN' : 'en');

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
  return page(
    'XT.COM',
    `<h1>${w.heading.replace('{client}', esc(who.clientId))}</h1>
         <p>${w.asks.replace('{scope}', esc(q.scope ?? ''))}</p>
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
  return page(
    'XT.COM',
    `<h1>${w.register}</h1><p>${w.registerWhy.replace('{user}', esc(userId))}</p><p>${w.registerBack}</p>`,
    lang,
  );
}

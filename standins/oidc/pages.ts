/**
 * The CIAM stand-in's pages, in the app's eleven page languages: the sign-in and consent
 * page (oidc/interaction.ts) and RP-initiated logout's confirmation page (oidc-provider's logoutSource).
 */
import type { InteractionDetails, ProviderContext } from 'oidc-provider';
import type { OidcAccount } from '../oidc.js';
import words from './words.json' with { type: 'json' };

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The pages' words (words.json) in the app's eleven page languages, from ui_locales (else Accept-Language). */
const WORDS: Record<PageLang, Record<keyof typeof words.en, string>> = words;
type PageLang = keyof typeof words;
const LANGS = Object.keys(WORDS) as PageLang[];

function pageLang(uiLocales: unknown, acceptLanguage: string | undefined): PageLang {
  const first =
    (typeof uiLocales === 'string' && uiLocales.trim() ? uiLocales : (acceptLanguage ?? '')).split(/[\s,;]+/)[0] ?? '';
  if (/^zh-(hk|tw|mo|hant)/i.test(first)) return 'zh-Hant';
  if (/^zh/i.test(first)) return 'zh-CN';
  const primary = first.split('-')[0]!.toLowerCase();
  return LANGS.find((l) => l === primary) ?? 'en';
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
export async function logoutSource(ctx: ProviderContext, form: string): Promise<void> {
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

/** The sign-in and consent page of an interaction: who signs in, what the client asks for, Approve and Deny. */
export function signInPage(details: InteractionDetails, account: OidcAccount, acceptLanguage?: string): string {
  const client = typeof details.params.client_id === 'string' ? details.params.client_id : '';
  const scope = typeof details.params.scope === 'string' ? details.params.scope : '';
  const lang = pageLang(details.params.ui_locales, acceptLanguage);
  const w = WORDS[lang];
  return page(
    w.title,
    `<p class="standin">${w.standIn}</p><h1>${w.signIn.replace('{client}', esc(client))}</h1><p>${w.signedInAs.replace('{who}', `<b>${esc(account.name)}</b> &lt;${esc(account.email)}&gt;`)}</p>
<p class="muted">${w.asks} ${esc(scope)}</p>
<form method="post" action="/interaction/${esc(details.uid)}/approve" style="display:inline"><button class="ok" type="submit">${w.approve}</button></form>
<form method="post" action="/interaction/${esc(details.uid)}/deny" style="display:inline"><button class="no" type="submit">${w.deny}</button></form>`,
    lang,
  );
}

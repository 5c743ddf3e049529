/**
 * The choice of a page language (a `lang` cookie set from the language menu, else Accept-Language),
 * and the mapping from that choice to a provider's own list of page languages.
 */
import { LANGUAGES, LANG_COOKIE, type Locale, htmlLang } from './locales.js';

/** Parses Accept-Language into tags ordered by preference (q-values honoured, junk ignored). */
export function preferredLanguages(header: string | undefined): string[] {
  if (!header || header.length > 1000) return [];
  return header
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](\.\d{0,3})?)\s*$/.exec(p)).find(Boolean);
      return { tag: (tag ?? '').trim(), q: q ? Number(q[1]) : 1, i };
    })
    .filter((x) => /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(x.tag) && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((x) => x.tag);
}

/** Whether a zh tag asks for Traditional characters: the Hant script, or Taiwan, Hong Kong or Macau without a script. */
function isTraditional(subtags: string[]): boolean {
  if (subtags.includes('hant')) return true;
  if (subtags.includes('hans')) return false;
  return subtags.some((r) => ['tw', 'hk', 'mo'].includes(r));
}

/** The locales named by their primary subtag alone (all but Chinese, split by script). */
const SIMPLE = new Map<string, Locale>(
  LANGUAGES.filter((l) => !l.tag.includes('-')).map((l) => [l.tag, l.locale] as [string, Locale]),
);

/** The page locale a single language tag asks for, if it is one of ours. */
export function localeOfTag(tag: string): Locale | undefined {
  const [primary = '', ...rest] = tag.toLowerCase().split('-');
  if (primary === 'zh') return isTraditional(rest) ? 'zh-Hant' : 'zh-CN';
  if (primary === 'in') return 'id'; // Indonesian's old code, still sent by some Android versions
  return SIMPLE.get(primary);
}

export function pickLocale(header: string | undefined): Locale {
  for (const tag of preferredLanguages(header)) {
    const locale = localeOfTag(tag);
    if (locale) return locale;
  }
  return 'en';
}

/** The language chosen from the menu: the `lang` cookie, when it holds one of the menu's tags. */
export function chosenLocale(cookieHeader: string | undefined): Locale | undefined {
  if (!cookieHeader || cookieHeader.length > 8192) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== LANG_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return LANGUAGES.find((l) => l.tag === value)?.locale;
  }
  return undefined;
}

/** The person's language: the menu's `lang` cookie, else the best match of Accept-Language. */
export function requestLocale(cookieHeader: string | undefined, acceptLanguage: string | undefined): Locale {
  return chosenLocale(cookieHeader) ?? pickLocale(acceptLanguage);
}

/**
 * What to map onto a provider's languages, so that its page follows ours: the menu choice's tag
 * when there is one (it overrides the browser), else the page language Accept-Language gave,
 * ahead of the header itself (for a provider that lacks it); the header alone when none of
 * ours matched (the page is then English, the provider may still speak the person's language).
 */
export function languagePreference(
  cookieHeader: string | undefined,
  acceptLanguage: string | undefined,
): string | undefined {
  const chosen = chosenLocale(cookieHeader);
  if (chosen) return htmlLang(chosen);
  const page = preferredLanguages(acceptLanguage).map(localeOfTag).find(Boolean);
  return page ? `${htmlLang(page)}, ${acceptLanguage!.slice(0, 900)}` : acceptLanguage;
}

/**
 * The provider page language closest to the person's preference, or the list's first entry.
 * Chinese is split by script: zh-TW/zh-HK/zh-MO/zh-Hant → zh-HK (or zh-TW, zh-Hant), other zh → zh-CN (or zh-Hans).
 */
export function pickProviderLanguage(header: string | undefined, supported: readonly string[]): string {
  const fallback = supported[0] ?? 'en';
  const lower = new Map(supported.map((s) => [s.toLowerCase(), s]));
  for (const tag of preferredLanguages(header)) {
    const t = tag.toLowerCase();
    if (lower.has(t)) return lower.get(t)!;
    const [primary, ...rest] = t.split('-');
    if (primary === 'zh') {
      const wants = isTraditional(rest) ? ['zh-hk', 'zh-tw', 'zh-hant'] : ['zh-cn', 'zh-hans'];
      const hit = wants.find((w) => lower.has(w));
      if (hit) return lower.get(hit)!;
    }
    if (primary && lower.has(primary)) return lower.get(primary)!;
  }
  return fallback;
}

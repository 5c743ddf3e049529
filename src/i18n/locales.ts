/** The page languages: the locales, the language menu's entries, and the cookie that keeps a choice. */

/**
 * A page language: its `lang` tag, which is also the `lang` cookie's value and its catalog's name
 * (catalogs/<tag>.json). The eleven of XT.COM's own pages (XT_LANGUAGES), Traditional Chinese
 * under its script's tag (XT.COM's zh-HK).
 */
export type Locale = 'en' | 'ja' | 'hi' | 'id' | 'ru' | 'es' | 'tr' | 'zh-Hant' | 'zh-CN' | 'vi' | 'th';

/** The page languages, in the language menu's order (XT.COM's), each with its own name in itself. */
export const LANGUAGES: readonly { locale: Locale; tag: Locale; name: string }[] = [
  { locale: 'en', tag: 'en', name: 'English' },
  { locale: 'ja', tag: 'ja', name: '日本語' },
  { locale: 'hi', tag: 'hi', name: 'हिन्दी' },
  { locale: 'id', tag: 'id', name: 'Bahasa Indonesia' },
  { locale: 'ru', tag: 'ru', name: 'Русский' },
  { locale: 'es', tag: 'es', name: 'Español' },
  { locale: 'tr', tag: 'tr', name: 'Türkçe' },
  { locale: 'zh-Hant', tag: 'zh-Hant', name: '繁體中文' },
  { locale: 'zh-CN', tag: 'zh-CN', name: '简体中文' },
  { locale: 'vi', tag: 'vi', name: 'Tiếng Việt' },
  { locale: 'th', tag: 'th', name: 'ไทย' },
];

/** The `lang` attribute of a page in `locale` (the locale is its own tag). */
export const htmlLang = (locale: Locale): string => locale;

/** The cookie that keeps a person's choice from the language menu. */
export const LANG_COOKIE = 'lang';

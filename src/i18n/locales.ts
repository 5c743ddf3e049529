/** The page languages: the locales, the language menu's entries, and the cookie that keeps a choice. */

/** A page language: its `lang` tag, which is also the `lang` cookie's value and its catalog's name. */
export type Locale = 'en' | 'zh-CN' | 'zh-Hant';

/** The page languages, in the language menu's order: the locale, its `lang` tag and its own name. */
export const LANGUAGES: readonly { locale: Locale; tag: Locale; name: string }[] = [
  { locale: 'en', tag: 'en', name: 'English' },
  { locale: 'zh-CN', tag: 'zh-CN', name: '简体中文' },
  { locale: 'zh-Hant', tag: 'zh-Hant', name: '繁體中文' },
];

/** The `lang` attribute of a page in `locale` (the locale is its own tag). */
export const htmlLang = (locale: Locale): string => locale;

/** The cookie that keeps a person's choice from the language menu. */
export const LANG_COOKIE = 'lang';

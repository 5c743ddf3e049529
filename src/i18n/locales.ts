/** The page languages: the locales, the language menu's entries, and the cookie that keeps a choice. */
export type Locale = 'en' | 'zh' | 'zh-Hant';

/** The page languages, in the language menu's order: the locale, its `lang` tag (also the cookie's value) and its own name. */
export const LANGUAGES: readonly { locale: Locale; tag: string; name: string }[] = [
  { locale: 'en', tag: 'en', name: 'English' },
  { locale: 'zh', tag: 'zh-CN', name: '简体中文' },
  { locale: 'zh-Hant', tag: 'zh-Hant', name: '繁體中文' },
];

/** The `lang` attribute of a page in `locale`. */
export const htmlLang = (locale: Locale): string => LANGUAGES.find((l) => l.locale === locale)!.tag;

/** The cookie that keeps a person's choice from the language menu. */
export const LANG_COOKIE = 'lang';

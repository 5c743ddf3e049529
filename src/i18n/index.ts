/**
 * The eleven languages of the pages (XT.COM's: English, Japanese, Hindi, Indonesian, Russian,
 * Spanish, Turkish, Traditional and Simplified Chinese, Vietnamese and Thai), the choice between
 * them (a `lang` cookie set from the language menu, else Accept-Language), and the mapping from
 * that choice to a provider's own list of page languages.
 *
 * The parts:
 *  - locales.ts: the locales, the language menu's entries and the `lang` cookie;
 *  - negotiate.ts: the choice of a locale, and of a provider's page language;
 *  - catalogs/: one catalog of messages per language, a JSON data file (en.json names the keys);
 *  - translate.ts: the catalogs by locale, and the translator;
 *  - format.ts: amounts in the page's locale, XT.COM's decimals kept exactly.
 */
export { LANGUAGES, LANG_COOKIE, type Locale, htmlLang } from './locales.js';
export {
  chosenLocale,
  languagePreference,
  localeOfTag,
  pickLocale,
  pickProviderLanguage,
  preferredLanguages,
  requestLocale,
} from './negotiate.js';
export { formatAmount } from './format.js';
export { CATALOGS, type Catalog, type MessageKey, type Translate, translator } from './translate.js';

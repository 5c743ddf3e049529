/** The catalogs by locale, and the translator that picks a message and fills its placeholders. */
import { type MessageKey, en } from './catalogs/en.js';
import { zhHant } from './catalogs/zh-Hant.js';
import { zh } from './catalogs/zh.js';
import type { Locale } from './locales.js';

/** Every catalog, by locale (the unit tests walk them). */
export const CATALOGS: Readonly<Record<Locale, Readonly<Record<MessageKey, string>>>> = { en, zh, 'zh-Hant': zhHant };

export type Translate = (key: MessageKey, vars?: Record<string, string>) => string;

/** A translator for `locale`; `defaults` fill the placeholders a call leaves out (the site's name, say). */
export function translator(locale: Locale, defaults: Record<string, string> = {}): Translate {
  const cat = CATALOGS[locale];
  return (key, vars) =>
    (cat[key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (m, k: string) => vars?.[k] ?? defaults[k] ?? m);
}

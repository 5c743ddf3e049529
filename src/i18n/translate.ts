/**
 * The catalogs by locale, and the translator that picks a message and fills its placeholders.
 * The catalogs are data (catalogs/<tag>.json), bundled into dist/server.js by the build.
 */
import en from './catalogs/en.json' with { type: 'json' };
import es from './catalogs/es.json' with { type: 'json' };
import hi from './catalogs/hi.json' with { type: 'json' };
import id from './catalogs/id.json' with { type: 'json' };
import ja from './catalogs/ja.json' with { type: 'json' };
import ru from './catalogs/ru.json' with { type: 'json' };
import th from './catalogs/th.json' with { type: 'json' };
import tr from './catalogs/tr.json' with { type: 'json' };
import vi from './catalogs/vi.json' with { type: 'json' };
import zhCN from './catalogs/zh-CN.json' with { type: 'json' };
import zhHant from './catalogs/zh-Hant.json' with { type: 'json' };
import type { Locale } from './locales.js';

/** Every message's key: the English catalog names them all. */
export type MessageKey = keyof typeof en;
export type Catalog = Readonly<Record<MessageKey, string>>;

/** Every catalog, by locale (the unit tests walk them; each must have every key). */
export const CATALOGS: Readonly<Record<Locale, Catalog>> = {
  en,
  ja,
  hi,
  id,
  ru,
  es,
  tr,
  'zh-Hant': zhHant,
  'zh-CN': zhCN,
  vi,
  th,
};

export type Translate = (key: MessageKey, vars?: Record<string, string>) => string;

/** A translator for `locale`; `defaults` fill the placeholders a call leaves out (the site's name, say). */
export function translator(locale: Locale, defaults: Record<string, string> = {}): Translate {
  const cat: Partial<Catalog> = CATALOGS[locale];
  return (key, vars) =>
    (cat[key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (m, k: string) => vars?.[k] ?? defaults[k] ?? m);
}

/**
 * The institution's brand on the pages: its name, logo, colour and home (SITE_*), where people
 * get help (SUPPORT_URL), and its own words for what each scope lets the site do (SCOPE_TEXTS).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type Env, optionalNonEmpty } from './env.js';

export const DEFAULT_ACCENT_COLOR = '#0b6bcb';

/** The page languages a SCOPE_TEXTS entry may name (the tags of src/i18n's eleven catalogs, its Locale). */
export const SCOPE_TEXT_LANGUAGES = ['en', 'ja', 'hi', 'id', 'ru', 'es', 'tr', 'zh-Hant', 'zh-CN', 'vi', 'th'] as const;

export const siteSchema = z.object({
  SITE_NAME: z.string().trim().min(1).max(80, 'must be at most 80 characters').default('xt-connect'),
  SITE_LOGO_URL: optionalNonEmpty,
  SITE_ACCENT_COLOR: z
    .string()
    .trim()
    .regex(/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/, 'must be a CSS hex color, #rgb or #rrggbb (e.g. #0b6bcb)')
    .default(DEFAULT_ACCENT_COLOR),
  SITE_HOME_URL: optionalNonEmpty,
  SUPPORT_URL: optionalNonEmpty,
  SCOPE_TEXTS: optionalNonEmpty,
});

export type SiteEnv = z.infer<typeof siteSchema>;

/** A text in every page language, or one text for all of them. */
export type ScopeText = string | Partial<Record<(typeof SCOPE_TEXT_LANGUAGES)[number], string>>;

/** The institution's brand on the pages (SITE_*, SUPPORT_URL, SCOPE_TEXTS). */
export interface SiteConfig {
  /** SITE_NAME: in the header, the title and the copy. */
  name: string;
  /**
   * SITE_LOGO_URL: `url` is what the pages put in <img src> (always a same-origin path, so the CSP
   * keeps img-src 'self'); `file` is set when it is a file under DATA_DIR, served at that url.
   */
  logo?: { url: string; file?: string };
  /** SITE_ACCENT_COLOR, as #rrggbb. */
  accentColor: string;
  /** SITE_HOME_URL: where "Back to the site" goes. */
  homeUrl?: string;
  /** SUPPORT_URL: on every error page (an http(s) or mailto: URL). */
  supportUrl?: string;
  /** SCOPE_TEXTS: the institution's own words for what a scope lets the site do, by scope. */
  scopeTexts: Record<string, ScopeText>;
}

/** A same-origin path that can go in an attribute as it is: one leading slash, no quotes, spaces or backslashes. */
const SAME_ORIGIN_PATH = /^\/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/;
/** An image file under DATA_DIR: a relative path of plain segments, with an image extension. */
const LOGO_FILE = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*\.(png|svg|jpe?g|webp|gif|ico)$/i;

/**
 * In production, one warning when the pages would show people "xt-connect" as the institution's
 * name, or error pages without a way to reach its support.
 */
export function unbrandedWarnings(env: Env): string[] {
  const unset = (['SITE_NAME', 'SUPPORT_URL'] as const).filter((key) => !env[key]?.trim());
  if (unset.length === 0) return [];
  return [
    `${unset.join(' and ')} unset: people see "xt-connect" as the site's name and error pages without a support link` +
      ' (set both: see docs/configuration.md)',
  ];
}

/** SITE_NAME, SITE_LOGO_URL, SITE_ACCENT_COLOR, SITE_HOME_URL, SUPPORT_URL and SCOPE_TEXTS; `dataDir` is DATA_DIR, resolved. */
export function loadSite(e: SiteEnv, dataDir: string, problems: string[]): SiteConfig {
  const rawLogo = e.SITE_LOGO_URL?.trim();
  const logo = rawLogo === undefined ? undefined : loadLogo(rawLogo, dataDir, problems);

  const hex = e.SITE_ACCENT_COLOR.slice(1).toLowerCase();
  const accentColor = `#${hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex}`;

  const homeUrl = e.SITE_HOME_URL?.trim();
  if (homeUrl !== undefined && !SAME_ORIGIN_PATH.test(homeUrl) && !isWebUrl(homeUrl)) {
    problems.push('SITE_HOME_URL: must be an http(s) URL or a path on this site');
  }
  const supportUrl = e.SUPPORT_URL?.trim();
  if (supportUrl !== undefined && !isWebUrl(supportUrl) && !/^mailto:[^\s@]+@[^\s@]+$/.test(supportUrl)) {
    problems.push('SUPPORT_URL: must be an http(s) URL or mailto:address');
  }

  return {
    name: e.SITE_NAME,
    logo,
    accentColor,
    homeUrl,
    supportUrl,
    scopeTexts: e.SCOPE_TEXTS === undefined ? {} : parseScopeTexts(e.SCOPE_TEXTS, problems),
  };
}

/** SITE_LOGO_URL: a path on this site, or an image file under DATA_DIR (served at /brand/logo.<ext>). */
function loadLogo(raw: string, dataDir: string, problems: string[]): SiteConfig['logo'] {
  if (SAME_ORIGIN_PATH.test(raw)) return { url: raw };
  if (LOGO_FILE.test(raw) && !raw.split('/').includes('..')) {
    const file = path.resolve(dataDir, raw);
    if (fs.existsSync(file) && fs.statSync(file).isFile())
      return { url: `/brand/logo.${path.extname(file).slice(1).toLowerCase()}`, file };
    problems.push(`SITE_LOGO_URL: no file ${raw} in DATA_DIR (${dataDir})`);
    return undefined;
  }
  problems.push(
    'SITE_LOGO_URL: must be a path on this site (e.g. /static/logo.svg) or the name of an image file in DATA_DIR (e.g. logo.png); the pages load images from this site only',
  );
  return undefined;
}

/** A scope's text: 1 to 200 characters, not only spaces. */
const okText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '' && v.length <= 200;

function isWebUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
  } catch {
    return false;
  }
}

/**
 * SCOPE_TEXTS: a JSON object from scope to the words shown for it, either one text for every
 * language or an object with a text per page language (`en`, `ja`, `zh-Hant`, …: SCOPE_TEXT_LANGUAGES;
 * missing ones fall back to the built-in words).
 */
export function parseScopeTexts(raw: string, problems: string[]): Record<string, ScopeText> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push('SCOPE_TEXTS: must be a JSON object, e.g. {"spotAssets": "See your spot balances"}');
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('SCOPE_TEXTS: must be a JSON object, e.g. {"spotAssets": "See your spot balances"}');
    return {};
  }
  const out: Record<string, ScopeText> = {};
  for (const [scope, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(scope)) {
      problems.push(`SCOPE_TEXTS: "${scope.slice(0, 40)}" is not a scope`);
      continue;
    }
    if (okText(value)) {
      out[scope] = value.trim();
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(
        `SCOPE_TEXTS: the text for "${scope}" must be a string of 1 to 200 characters, or {"en": …, "ja": …, "zh-Hant": …} (${SCOPE_TEXT_LANGUAGES.join(', ')})`,
      );
      continue;
    }
    out[scope] = scopeTextsByLanguage(scope, value as Record<string, unknown>, problems);
  }
  return out;
}

/** One SCOPE_TEXTS entry given per language: only the page languages, each text 1 to 200 characters. */
function scopeTextsByLanguage(scope: string, value: Record<string, unknown>, problems: string[]): ScopeText {
  const texts: Partial<Record<(typeof SCOPE_TEXT_LANGUAGES)[number], string>> = {};
  for (const [lang, text] of Object.entries(value)) {
    if (!(SCOPE_TEXT_LANGUAGES as readonly string[]).includes(lang)) {
      problems.push(
        `SCOPE_TEXTS: "${scope}" names the language "${lang.slice(0, 20)}"; the pages speak ${SCOPE_TEXT_LANGUAGES.join(', ')}`,
      );
    } else if (!okText(text))
      problems.push(`SCOPE_TEXTS: the ${lang} text for "${scope}" must be a string of 1 to 200 characters`);
    else texts[lang as (typeof SCOPE_TEXT_LANGUAGES)[number]] = text.trim();
  }
  return texts;
}

/**
 * The institution's brand and the person's language on every page: the locals the layout reads
 * (site name, logo, accent, support link, language menu, translator), the accent as a small
 * stylesheet generated from SITE_ACCENT_COLOR (no inline style: the CSP stays strict), the logo
 * when it is a file under DATA_DIR, and the language menu's links, which keep the choice in the
 * `lang` cookie.
 */
import { createHash } from 'node:crypto';
import { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import type { Config } from '../config/index.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import {
  LANGUAGES,
  LANG_COOKIE,
  type Locale,
  type MessageKey,
  formatAmount,
  htmlLang,
  requestLocale,
  translator,
} from '../i18n/index.js';
import { queryString } from '../http/params.js';
import { safeReturnTo } from '../http/returnTo.js';

type Rgb = [number, number, number];

const hexRgb = (hex: string): Rgb => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb;
const rgbHex = (c: Rgb): string => `#${c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;

function luminance([r, g, b]: Rgb): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two colours. */
export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(hexRgb(a)), luminance(hexRgb(b))].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => a.map((v, i) => v + (b[i]! - v) * t) as Rgb;

/** `color` moved toward `toward` just enough to reach `min` contrast against every colour of `against`. */
function withContrast(color: string, against: string[], toward: string, min = 4.5): string {
  for (let t = 0; t <= 1.0001; t += 0.02) {
    const c = rgbHex(mix(hexRgb(color), hexRgb(toward), Math.min(t, 1)));
    if (against.every((bg) => contrast(c, bg) >= min)) return c;
  }
  return toward;
}

/** The page colours behind accent text (app.css's --surface and --bg), light and dark. */
export const SURFACES = { light: ['#ffffff', '#f4f6f9'], dark: ['#161b22', '#0e1116'] } as const;
const WHITE = '#ffffff';
const INK = '#111418';

export interface Accent {
  /** Button background and its text colour. */
  accent: string;
  ink: string;
  /** Links, focus rings and accent text on the page. */
  text: string;
}

/** The accent's colours for light and dark pages, each meeting WCAG AA (4.5:1) where text is drawn. */
export function accentPalette(color: string): { light: Accent; dark: Accent } {
  const button =
    contrast(WHITE, color) >= 4.5
      ? { accent: color, ink: WHITE }
      : contrast(INK, color) >= 4.5
        ? { accent: color, ink: INK }
        : { accent: withContrast(color, [WHITE], '#000000'), ink: WHITE };
  const darkText = withContrast(color, [...SURFACES.dark], WHITE);
  return {
    light: { ...button, text: withContrast(color, [...SURFACES.light], '#000000') },
    dark: { accent: darkText, ink: SURFACES.dark[1], text: darkText },
  };
}

export function themeCss(config: Config): string {
  const { light, dark } = accentPalette(config.site.accentColor);
  const vars = (a: Accent) => `--accent: ${a.accent}; --accent-ink: ${a.ink}; --accent-text: ${a.text};`;
  return `/* Generated from SITE_ACCENT_COLOR (${config.site.accentColor}). */\n:root { ${vars(light)} }\n@media (prefers-color-scheme: dark) {\n  :root { ${vars(dark)} }\n}\n`;
}

/** The locals every page's layout reads. */
export interface SiteLocals {
  name: string;
  logoUrl?: string;
  homeUrl?: string;
  supportUrl?: string;
  themeUrl: string;
}

/**
 * Sets the person's language (the menu's cookie, else Accept-Language) and the brand for every
 * page, error pages included: `locale`, `htmlLang`, `t` (with `{site}` filled in), `tparts`,
 * `site` and `languages`.
 */
export function pageLocals(ctx: AppContext): RequestHandler {
  const { site: cfg } = ctx.config;
  const css = themeCss(ctx.config);
  const site: SiteLocals = {
    name: cfg.name,
    logoUrl: cfg.logo?.url,
    homeUrl: cfg.homeUrl,
    supportUrl: cfg.supportUrl,
    themeUrl: `/brand/theme.css?v=${createHash('sha256').update(css).digest('hex').slice(0, 10)}`,
  };
  return function pageLanguage(req: Request, res: Response, next: NextFunction) {
    const locale: Locale = requestLocale(req.headers.cookie, req.get('accept-language'));
    const t = translator(locale, { site: cfg.name });
    res.locals.locale = locale;
    res.locals.htmlLang = htmlLang(locale);
    res.locals.t = t;
    /** An amount (XT.COM's decimal string) in the page's locale, every decimal kept. */
    res.locals.amount = (s: unknown) => (typeof s === 'string' ? formatAmount(locale, s) : s);
    /** A message split around its `{slot}`, so a page can put markup (a <time>, say) in its place. */
    res.locals.tparts = (key: MessageKey, vars?: Record<string, string>) =>
      t(key, { ...vars, slot: '\u0000' }).split('\u0000');
    res.locals.site = site;
    const here = req.method === 'GET' && (req.path === '/' || req.path === '/account') ? req.originalUrl : '/';
    res.locals.languages = languageLinks(locale, here);
    res.vary('Accept-Language');
    next();
  };
}

/** The language menu of the two pages' own addresses, per language: built once (the templates only read them). */
const MENUS = new Map<string, readonly object[]>();

/** The language menu's links: each language, whether it is the page's, and /lang/<tag> coming back to `here`. */
function languageLinks(locale: Locale, here: string): readonly object[] {
  const key = here === '/' || here === '/account' ? `${locale} ${here}` : undefined;
  const kept = key === undefined ? undefined : MENUS.get(key);
  if (kept) return kept;
  const returnTo = new URLSearchParams({ returnTo: here }).toString();
  const links = LANGUAGES.map((l) => ({ ...l, current: l.locale === locale, href: `/lang/${l.tag}?${returnTo}` }));
  if (key !== undefined) MENUS.set(key, links);
  return links;
}

const ONE_YEAR_MS = 365 * 86_400_000;

/** /brand/theme.css, the logo under DATA_DIR, and /lang/:tag (the language menu). */
export function brandRouter(ctx: AppContext): Router {
  const r = Router();
  const css = themeCss(ctx.config);
  const cache = ctx.config.server.env === 'production' ? 'public, max-age=3600' : 'no-cache';

  r.get('/brand/theme.css', function theme(_req, res) {
    res.type('text/css').set('Cache-Control', cache).send(css);
  });

  const logo = ctx.config.site.logo;
  if (logo?.file) {
    const file = logo.file;
    r.get(logo.url, function logoFile(_req, res, next) {
      res.sendFile(file, { headers: { 'Cache-Control': cache } }, (err) => err && next(new AppError('not_found')));
    });
  }

  r.get('/lang/:tag', function chooseLanguage(req, res) {
    const lang = LANGUAGES.find((l) => l.tag === req.params.tag);
    if (!lang) throw new AppError('not_found');
    const back = safeReturnTo(queryString(req, 'returnTo', 512), '/');
    res
      .set('Cache-Control', 'no-store')
      .cookie(LANG_COOKIE, lang.tag, {
        path: '/',
        maxAge: ONE_YEAR_MS,
        sameSite: 'lax',
        httpOnly: true,
        secure: ctx.config.server.secureCookies,
      })
      .redirect(303, back);
  });

  return r;
}

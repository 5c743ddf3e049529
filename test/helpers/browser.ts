/** Debian's Chromium driven by playwright-core. No browser is ever downloaded. */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test/artifacts');

/** The flags every headless Chromium run here uses (the tests and the topology run). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}. Install Debian's package: apt-get install -y chromium (.ci/run does this).`,
    );
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

export interface HanRendering {
  /** The Han characters checked, and the font they were drawn in (the element's computed font). */
  chars: string[];
  font: string;
  /** Characters drawn pixel for pixel like a code point no font has (U+10FFFD): boxes. */
  likeMissingGlyph: string[];
  /** How many different drawings the distinct characters produced (boxes all look alike). */
  distinctDrawings: number;
  /** Rendered width of the characters, and of as many missing glyphs. */
  width: number;
  missingWidth: number;
}

/** A script's letters, as a Unicode property escape's body: Han (Chinese), Japanese, Devanagari, Thai… */
export const SCRIPTS = {
  han: '\\p{Script=Han}',
  japanese: '[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}]',
  devanagari: '\\p{Script=Devanagari}',
  thai: '\\p{Script=Thai}',
  /** Every letter outside ASCII: Cyrillic, Vietnamese's and Turkish's accented Latin, and the rest. */
  nonAscii: '(?![\\x00-\\x7f])\\p{L}',
} as const;

/**
 * How the Han characters of `selector`'s text render in the page, drawn on a canvas in the
 * element's own computed font, so fallback works as it does for the page itself. Without a CJK
 * font every character comes out as the same box, the one drawn for a code point no font has.
 * `script` picks other letters instead (SCRIPTS: Japanese, Devanagari, Thai…).
 */
export function hanRendering(page: Page, selector: string, script: string = SCRIPTS.han): Promise<HanRendering> {
  // No named functions inside: the callback runs in the page as written, with no helpers around it.
  return page.evaluate(
    ([sel, letters]) => {
      const el = document.querySelector(sel);
      if (!el) throw new Error(`no element matches ${sel}`);
      const font = getComputedStyle(el).font;
      const re = new RegExp(letters, 'u');
      const chars = [...new Set([...(el.textContent ?? '')].filter((c) => re.test(c)))];
      const missing = String.fromCodePoint(0x10fffd);
      const canvas = document.createElement('canvas');
      const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
      ctx.font = font;
      const side = Math.ceil(parseFloat(getComputedStyle(el).fontSize) * 3);
      canvas.width = side; // resizing the canvas resets its state: the font is set again below
      canvas.height = side;
      const drawings: string[] = [];
      for (const c of [missing, ...chars]) {
        ctx.clearRect(0, 0, side, side);
        ctx.font = font;
        ctx.textBaseline = 'middle';
        ctx.fillStyle = '#000';
        ctx.fillText(c, side / 4, side / 2);
        drawings.push(Array.from(ctx.getImageData(0, 0, side, side).data).join(','));
      }
      const [box, ...drawn] = drawings;
      return {
        chars,
        font,
        likeMissingGlyph: chars.filter((_, i) => drawn[i] === box),
        distinctDrawings: new Set(drawn).size,
        width: ctx.measureText(chars.join('')).width,
        missingWidth: ctx.measureText(missing.repeat(chars.length)).width,
      };
    },
    [selector, script] as const,
  );
}

/** Fails, saying how to fix it, when any character of `han` was drawn as a box (no font for its script). */
export function expectNoBoxes(han: Pick<HanRendering, 'likeMissingGlyph' | 'font'>): void {
  if (han.likeMissingGlyph.length > 0) {
    throw new Error(
      `Text renders as boxes (${han.likeMissingGlyph.join('')} in ${han.font}): install a font for its script, e.g. apt-get install fonts-wqy-zenhei fonts-ipafont-gothic fonts-lohit-deva fonts-tlwg-loma (scripts/test-deps.sh does)`,
    );
  }
}

/** What axe-core found on one page: every violation's rule, impact and how many nodes. */
export interface AxeFinding {
  id: string;
  impact: string;
  nodes: number;
  help: string;
  targets: string[];
}

/**
 * axe-core (through @axe-core/playwright) on the page as it is: WCAG 2.0, 2.1 and 2.2 A and AA
 * rules, plus axe's best practices. Returns every violation; the tests fail on serious and critical ones.
 * The page's own frame only: a page with a cross-origin iframe would need `.setLegacyMode(false)`.
 */
export async function axe(page: Page): Promise<AxeFinding[]> {
  const { AxeBuilder } = await import('@axe-core/playwright');
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    // Only violations are read: axe need not collect every passing node.
    .options({ resultTypes: ['violations'] })
    // Legacy mode runs axe in the page itself: no blank page opened to assemble each result
    // (about 1 s of the 1.2 s a run took). It skips only cross-origin iframes, and no page has one.
    .setLegacyMode()
    .analyze();
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact ?? 'unknown',
    nodes: v.nodes.length,
    help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
  }));
}

/** Links, buttons and disclosure summaries in `scope` that are smaller than `min` px in either direction. */
export function smallTapTargets(page: Page, scope = 'main', min = 44): Promise<string[]> {
  return page.evaluate(
    ([sel, least]) => {
      const small: string[] = [];
      for (const el of document.querySelectorAll(
        `${sel} a[href], ${sel} button, ${sel} summary, ${sel} input:not([type=hidden])`,
      )) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue; // not rendered (hidden)
        if (r.width < least || r.height < least)
          small.push(
            `${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 40)}" ${Math.round(r.width)}x${Math.round(r.height)}`,
          );
      }
      return small;
    },
    [scope, min] as const,
  );
}

/**
 * Walks the page with Tab from the top: the first stop is a visible skip link; every stop shows
 * a focus ring (an outline at least 2 px wide); and every link, button and summary on the page is
 * reached. Returns what went wrong (empty when nothing did).
 */
export async function keyboardProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const r = el.getBoundingClientRect();
    return {
      cls: el.className,
      href: el.getAttribute('href'),
      visible: r.top >= 0 && r.height > 0 && r.bottom <= window.innerHeight,
    };
  });
  if (first.cls !== 'skip' || first.href !== '#main' || !first.visible)
    problems.push(`the first Tab stop is not a visible skip link: ${JSON.stringify(first)}`);
  const reachable = await page.evaluate(
    () =>
      [...document.querySelectorAll('a[href], button, summary, input:not([type=hidden])')].filter((el) => {
        // A closed disclosure's content (the language menu's links) is not shown, though Chromium gives it a box.
        if (el.closest('details:not([open])') && !el.closest('summary')) return false;
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0;
      }).length,
  );
  const seen = new Set<string>();
  for (let i = 0; i < reachable + 5; i++) {
    const stop = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return undefined;
      const all = [...document.querySelectorAll('*')];
      const s = getComputedStyle(el);
      return {
        key: `${el.tagName}#${all.indexOf(el)}`,
        text: (el.textContent ?? '').trim().slice(0, 30),
        outline: s.outlineStyle !== 'none' ? parseFloat(s.outlineWidth) : 0,
      };
    });
    if (stop) {
      if (seen.has(stop.key)) break; // wrapped around
      seen.add(stop.key);
      if (stop.outline < 2) problems.push(`no visible focus ring on "${stop.text}"`);
    }
    await page.keyboard.press('Tab');
  }
  if (seen.size < reachable) problems.push(`Tab reached ${seen.size} of ${reachable} links and buttons`);
  // The skip link moves focus to the main content.
  await page.evaluate(() => (document.querySelector('a.skip') as HTMLElement).focus());
  await page.keyboard.press('Enter');
  const after = await page.evaluate(() => document.activeElement?.id);
  if (after !== 'main') problems.push(`the skip link left focus on "${after}", not on main`);
  return problems;
}

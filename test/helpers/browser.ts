/** Debian's Chromium driven by playwright-core. No browser is ever downloaded. */
import fs from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test/artifacts');

const FLAGS = [
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
    throw new Error(`Chromium is not installed at ${CHROMIUM}. Install Debian's package: apt-get install -y chromium (.ci/run does this).`);
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
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

/**
 * How the Han characters of `selector`'s text render in the page, drawn on a canvas in the
 * element's own computed font, so fallback works as it does for the page itself. Without a CJK
 * font every character comes out as the same box, the one drawn for a code point no font has.
 */
export function hanRendering(page: Page, selector: string): Promise<HanRendering> {
  // No named functions inside: the callback runs in the page as written, with no helpers around it.
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) throw new Error(`no element matches ${sel}`);
    const font = getComputedStyle(el).font;
    const chars = [...new Set([...(el.textContent ?? '')].filter((c) => /\p{Script=Han}/u.test(c)))];
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
  }, selector);
}

/**
 * The documents hold together: the README stays short and points into docs/, every relative link
 * in README.md, SECURITY.md and docs/*.md reaches a file that exists, every `#anchor` into a
 * Markdown file names one of its headings (GitHub's slugs), and the webhook receiver that
 * docs/integration.md tells newcomers to run at least parses.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/app.js';

const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const DOCS = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const FILES = ['README.md', 'SECURITY.md', ...DOCS];

/** The lines of a Markdown file outside fenced code blocks. */
function proseLines(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').filter((line) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1]![0];
      else if (m[1]![0] === fence) fence = undefined;
      return false;
    }
    return fence === undefined;
  });
}

/** GitHub's heading anchor: lower case, punctuation dropped (but - and _), spaces to -. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings, with GitHub's -1, -2… for repeated ones. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every relative link target (`[text](target)`, images too) outside code. */
function relativeLinks(text: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) targets.push(target);
    }
  }
  return targets;
}

test('slugs follow GitHub: lower case, punctuation dropped, spaces to hyphens', () => {
  expect(slug("`/api/xt/*`: the site's pages call XT.COM through us")).toBe(
    'apixt-the-sites-pages-call-xtcom-through-us',
  );
  expect(slug('A second provider: standard OAuth 2.0 / OpenID Connect')).toBe(
    'a-second-provider-standard-oauth-20--openid-connect',
  );
  expect(slug('Proven in CI: `npm run topology`')).toBe('proven-in-ci-npm-run-topology');
  expect(slug('snake_case and-hyphens')).toBe('snake_case-and-hyphens');
});

test('the README is at most 200 lines and links every document in docs/ and SECURITY.md', () => {
  const readme = read('README.md');
  expect(readme.split('\n').length).toBeLessThanOrEqual(200);
  const links = relativeLinks(readme).map((t) => t.split('#')[0]);
  for (const doc of [...DOCS, 'SECURITY.md']) expect(links).toContain(doc);
});

test('every relative link in README.md, SECURITY.md and docs/*.md reaches a file, and every #anchor a heading', () => {
  const broken: string[] = [];
  for (const file of FILES) {
    for (const target of relativeLinks(read(file))) {
      const [rawPath, anchor] = target.split('#') as [string, string | undefined];
      const rel =
        rawPath === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURI(rawPath)));
      if (!fs.existsSync(path.join(ROOT, rel))) {
        broken.push(`${file}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && rel.endsWith('.md') && !anchorsOf(read(rel)).has(anchor))
        broken.push(`${file}: ${target} (no such heading)`);
    }
  }
  expect(broken).toEqual([]);
});

test('the webhook receiver of docs/integration.md exists, is linked from it, and parses', () => {
  expect(relativeLinks(read('docs/integration.md'))).toContain('../examples/webhook-receiver.mjs');
  expect(() =>
    execFileSync(process.execPath, ['--check', path.join(ROOT, 'examples/webhook-receiver.mjs')], { stdio: 'pipe' }),
  ).not.toThrow();
});

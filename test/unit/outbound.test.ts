/**
 * The design card's HTTP client, enforced: axios is a runtime dependency, and every outbound call
 * of the app (XT.COM, webhooks) goes through shared/outbound.ts, the one place that holds axios to
 * the deadline, the cap, no redirects, no proxy and the scrubbed errors. The only other way out is
 * openid-client's own fetch, bounded in providers/oidc/fetch.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/app.js';

const SRC = path.join(ROOT, 'src');
const files = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
const sources = files(SRC).map((f) => ({
  rel: path.relative(SRC, f).split(path.sep).join('/'),
  text: fs.readFileSync(f, 'utf8'),
}));

test('axios is a dependency of the app, not only of its tests', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<
    string,
    Record<string, string> | undefined
  >;
  expect(pkg.dependencies?.axios).toMatch(/^\^1\./);
  expect(pkg.devDependencies?.axios).toBeUndefined();
});

test('outbound HTTP leaves only through shared/outbound.ts (axios), or openid-client’s bounded fetch', () => {
  const offenders = (re: RegExp, allowed: string[]) =>
    sources.filter((s) => !allowed.includes(s.rel) && re.test(s.text)).map((s) => s.rel);
  expect(offenders(/from 'axios'/, ['shared/outbound.ts'])).toEqual([]);
  expect(offenders(/(?<![\w.])https?\.(request|get)\(/, [])).toEqual([]); // node:http(s) called directly
  expect(offenders(/(?<![\w.])fetch\(/, ['providers/oidc/fetch.ts'])).toEqual([]);
});

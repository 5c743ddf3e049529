/**
 * The configuration reference cannot drift from the code: docs/configuration.md's tables and
 * .env.example name exactly the variables the zod schema in src/config/ reads, no more, no less.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/app.js';
import { CONFIG_VARIABLES } from '../../src/config/index.js';

const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

test('docs/configuration.md has a table row for every variable the app reads, and none for anything else', () => {
  // The first cell of each table row names one or more variables: | `XT_CLIENT_ID`, `XT_CLIENT_SECRET` | …
  const documented = read('docs/configuration.md')
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
  expect(sorted(documented)).toEqual(sorted(CONFIG_VARIABLES));
});

test('.env.example sets or shows every variable the app reads, and nothing else', () => {
  const listed = [...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
  expect(sorted(listed)).toEqual(sorted(CONFIG_VARIABLES));
});

test('the README points to the reference instead of keeping a table of its own', () => {
  const readme = read('README.md');
  expect(readme).toContain('(docs/configuration.md)');
  expect(readme).not.toMatch(/^\| variable \| meaning \| default \|$/m);
});

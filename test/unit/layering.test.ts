/**
 * The architecture, enforced: imports under src/ run one way, from the app down to the shared
 * bottom modules, and no import cycle exists anywhere (type-only imports included).
 *
 *   app.ts, server.ts → routes/ → auth/ → http/ → context.ts → services/, webhooks/ → session/
 *     → providers/registry.ts → providers/xt/, providers/oidc/ → providers/, store/ → shared/ (+ config/, errors, i18n, logger)
 *
 * providers/xt/ and providers/oidc/ share a rank under different names, so neither imports the
 * other; what they share (transport, types) sits in providers/ itself, and only the registry sees
 * both. store/ shares the bottom rank with providers/: neither imports the other.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../../src/app.js';

const SRC = path.join(ROOT, 'src');

/**
 * Lower ranks are further down; a module may import its own layer or anything ranked lower. The
 * first pattern that matches wins, so the registry and the two provider folders come before providers/.
 */
const LAYERS: [RegExp, string, number][] = [
  [/^shared\//, 'shared', 0],
  [/^config\//, 'shared', 0],
  [/^(errors|logger)\.ts$/, 'shared', 0],
  [/^i18n\//, 'shared', 0],
  [/^providers\/registry\.ts$/, 'provider registry', 3],
  [/^providers\/xt\//, 'providers/xt', 2],
  [/^providers\/oidc\//, 'providers/oidc', 2],
  [/^providers\//, 'providers', 1],
  [/^store\//, 'store', 1],
  [/^session\//, 'session', 4],
  [/^services\//, 'services', 5],
  [/^webhooks\//, 'webhooks', 5],
  [/^context\.ts$/, 'context', 6],
  [/^http\//, 'http', 7],
  [/^auth\//, 'auth', 8],
  [/^routes\//, 'routes', 9],
  [/^(app|server)\.ts$/, 'app', 10],
  // The operator CLI: beside the app (neither imports the other), on the same context.
  [/^cli(\.ts$|\/)/, 'cli', 10],
];

function layerOf(rel: string): { name: string; rank: number } {
  const hit = LAYERS.find(([re]) => re.test(rel));
  if (!hit) throw new Error(`${rel} belongs to no layer: add it to LAYERS`);
  return { name: hit[1], rank: hit[2] };
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    // JSON data (the i18n catalogs) is a module too: imported, importing nothing.
    return (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) || e.name.endsWith('.json') ? [p] : [];
  });
}

/** Every relative import (static, dynamic, type-only, re-export) as a path relative to src/. */
function importsOf(file: string): string[] {
  if (file.endsWith('.json')) return [];
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((f) => f.startsWith('.'))
    .map((f) =>
      path
        .relative(SRC, path.resolve(path.dirname(file), f.replace(/\.js$/, '.ts')))
        .split(path.sep)
        .join('/'),
    );
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [path.relative(SRC, f).split(path.sep).join('/'), importsOf(f)]));

test('every module belongs to a layer, and imports only its own folder or lower layers', () => {
  const violations: string[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from);
    for (const to of targets) {
      if (!graph.has(to)) throw new Error(`${from} imports ${to}, which does not exist`);
      const b = layerOf(to);
      const sameFolder = path.dirname(from) === path.dirname(to) && a.name === b.name;
      if (!sameFolder && b.rank >= a.rank && a.name !== b.name)
        violations.push(`${from} (${a.name}) → ${to} (${b.name})`);
    }
  }
  expect(violations).toEqual([]);
});

test('providers/ never imports session/, auth/ or anything above them', () => {
  const bad = [...graph]
    .filter(([from]) => from.startsWith('providers/'))
    .flatMap(([from, to]) =>
      to.filter((t) => !t.startsWith('providers/') && layerOf(t).rank > 0).map((t) => `${from} → ${t}`),
    );
  expect(bad).toEqual([]);
});

test('there is no import cycle', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  expect(cycles).toEqual([]);
});

test('the check itself catches a violation and a cycle', () => {
  // A providers module importing session would be flagged by the rank rule…
  expect(layerOf('providers/x.ts').rank).toBeLessThan(layerOf('session/connections/index.ts').rank);
  expect(layerOf('providers/registry.ts').rank).toBeLessThan(layerOf('session/connections/index.ts').rank);
  // …the two provider folders are siblings: one rank, two names, so neither may import the other…
  expect(layerOf('providers/xt/a.ts')).toEqual({ name: 'providers/xt', rank: layerOf('providers/oidc/a.ts').rank });
  expect(layerOf('providers/oidc/a.ts').name).toBe('providers/oidc');
  // …and the parser sees type-only and dynamic imports too.
  const info = ts.preProcessFile(
    "import type { A } from './a.js'; export * from './b.js'; const c = await import('./c.js');",
    true,
    true,
  );
  expect(info.importedFiles.map((f) => f.fileName)).toEqual(['./a.js', './b.js', './c.js']);
});

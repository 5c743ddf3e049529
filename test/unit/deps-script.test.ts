/**
 * scripts/deps.mjs, run before `npm run demo` and `npm test`: installs with `npm ci` when
 * node_modules is missing or was installed from another lockfile or Node, and never otherwise, so
 * running the second Quick start line after the first does not install again.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/app.js';
import { tempDir } from '../helpers/harness.js';

/** A project folder with a lockfile, and an `npm` on PATH that only records how it was called. */
function project(lock = '{"lockfileVersion":3}') {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'package-lock.json'), lock);
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'npm'),
    `#!/bin/sh\necho "$@" >> "${path.join(dir, 'npm-calls')}"\nmkdir -p node_modules\n`,
    { mode: 0o755 },
  );
  const run = () =>
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'deps.mjs')], {
      cwd: dir,
      env: { PATH: `${bin}:${process.env.PATH}` },
    }).toString();
  const calls = () =>
    fs.existsSync(path.join(dir, 'npm-calls'))
      ? fs.readFileSync(path.join(dir, 'npm-calls'), 'utf8').trim().split('\n')
      : [];
  return { dir, run, calls };
}

test('a fresh clone installs once; a second run installs nothing', () => {
  const p = project();
  expect(p.run()).toContain('npm ci');
  expect(p.calls()).toEqual(['ci --no-fund --no-audit']);
  expect(p.run()).toBe('');
  expect(p.calls()).toHaveLength(1);
});

test('a changed lockfile, or node_modules installed some other way, installs again', () => {
  const p = project();
  p.run();
  fs.writeFileSync(path.join(p.dir, 'package-lock.json'), '{"lockfileVersion":3,"changed":true}');
  p.run();
  expect(p.calls()).toHaveLength(2);
  fs.rmSync(path.join(p.dir, 'node_modules', '.xt-connect-deps'));
  p.run();
  expect(p.calls()).toHaveLength(3);
});

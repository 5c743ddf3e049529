// `npm test`'s static checks, in two lanes at once (a machine has at least two cores, and the type-aware
// lint alone takes as long as the rest together): the lint in one; formatting, the type check and
// the layering test in the other, in that order. Each lane's output is printed whole when it ends, so
// the two never interleave. Exits 1 if any check failed, after both lanes have finished, naming each.
import { spawn } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const LANES = [
  [['lint', npm, ['run', 'lint']]],
  [
    ['format:check', npm, ['run', 'format:check']],
    ['tsc', npm, ['exec', '--', 'tsc', '-p', 'tsconfig.json', '--noEmit']],
    ['check:layers', npm, ['run', 'check:layers']],
  ],
];

/** Runs one check with its output kept; resolves to whether it passed, and what it printed. */
function run(name, cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolve({ name, ok: false, out: `${out}${err.message}\n` }));
    child.on('close', (code) => resolve({ name, ok: code === 0, out }));
  });
}

/** A lane's checks in order; it stops at the first failure (as `a && b && c` would). */
async function lane(checks) {
  const results = [];
  for (const [name, cmd, args] of checks) {
    const started = Date.now();
    const r = await run(name, cmd, args);
    process.stdout.write(
      `${r.out}checks: ${name} ${r.ok ? 'passed' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    );
    results.push(r);
    if (!r.ok) break;
  }
  return results;
}

const failed = (await Promise.all(LANES.map(lane))).flat().filter((r) => !r.ok);
if (failed.length) {
  process.stdout.write(`checks: failed: ${failed.map((r) => r.name).join(', ')}\n`);
  process.exit(1);
}

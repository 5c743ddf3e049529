// Installs the locked dependencies (`npm ci`) only when they are missing or out of date, so each
// Quick start line works alone on a fresh clone and the second one does not install again. Runs
// before `npm run demo` and `npm test` (their pre-scripts) and in .ci/run. Plain Node, no packages:
// it runs before there are any.
//
// "Up to date" means: node_modules was installed by this script from this exact package-lock.json,
// with this Node version on this platform (better-sqlite3 is a native module built for one Node).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';

const STAMP = 'node_modules/.xt-connect-deps';
const want = createHash('sha256')
  .update(fs.readFileSync('package-lock.json'))
  .update(`${process.version} ${process.platform} ${process.arch}`)
  .digest('hex');
let have;
try {
  have = fs.readFileSync(STAMP, 'utf8').trim();
} catch {
  have = undefined;
}
if (have !== want) {
  process.stdout.write('Installing the locked dependencies (npm ci): about 2 minutes the first time.\n');
  execFileSync('npm', ['ci', '--no-fund', '--no-audit'], { stdio: 'inherit' });
  fs.writeFileSync(STAMP, `${want}\n`);
}

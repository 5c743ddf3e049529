// Runs before `npm test`: the browser tests need Debian's Chromium and the Redis tests need
// redis-server. On a machine where we are root with apt-get (CI, a fresh dev box), install
// them; anywhere else, say exactly what to install. Never downloads a browser build.
import { execSync } from 'node:child_process';
import fs from 'node:fs';

const has = (cmd) => {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
};
const missing = [];
if (!fs.existsSync('/usr/bin/chromium')) missing.push('chromium');
if (!has('redis-server')) missing.push('redis-server');
if (missing.length === 0) process.exit(0);

const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (root && has('apt-get')) {
  console.log(`test setup: installing ${missing.join(' ')} from Debian's packages`);
  execSync('apt-get update -qq', { stdio: 'inherit' });
  execSync(`apt-get install -y -qq --no-install-recommends ${missing.join(' ')}`, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  process.exit(0);
}
console.error(`The tests need ${missing.join(' and ')}. Install with: sudo apt-get install -y ${missing.join(' ')}`);
process.exit(1);

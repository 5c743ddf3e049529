// Starts the built server (dist/) the way the Docker image does, and checks /healthz and a
// clean SIGTERM shutdown. Used by .ci/run because no Docker engine is available there.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-dist-'));
const port = 3900 + Math.floor(Math.random() * 90);
const env = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  PORT: String(port),
  DATA_DIR: dataDir,
  SESSION_SECRET: 'dist-check-session-secret-0123456789abcdef',
  XT_CLIENT_ID: 'dist-check',
  XT_CLIENT_SECRET: 'dist-check-secret',
};
const child = spawn(process.execPath, ['dist/src/server.js'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (d) => (out += d));
const deadline = Date.now() + 15_000;
let ok = false;
while (Date.now() < deadline && !ok) {
  await new Promise((r) => setTimeout(r, 200));
  try {
    ok = (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  } catch {}
}
child.kill('SIGTERM');
const code = await new Promise((r) => child.once('exit', r));
if (!ok) {
  console.error('check-dist: the built server did not answer /healthz\n' + out);
  process.exit(1);
}
if (code !== 0) {
  console.error(`check-dist: the server exited with ${code} on SIGTERM`);
  process.exit(1);
}
if (!fs.existsSync(path.join(dataDir, 'xt-connect.sqlite'))) {
  console.error('check-dist: no SQLite database was created under DATA_DIR');
  process.exit(1);
}
console.log('check-dist: built server answered /healthz, stored sessions in DATA_DIR and shut down cleanly');

// Runs the built server (dist/) the way the Docker image does, since no Docker engine is
// available in CI (.ci/run calls this after `npm run build`):
//  - the command, the ENV and the HEALTHCHECK are read from the Dockerfile's final stage;
//  - the app sits in a read-only directory laid out like the image's /app, and runs as a
//    non-root user (nobody, standing in for the image's `node`; as root this uses setpriv);
//  - /data, the image's volume, is a fresh directory owned by that user;
//  - .env.example is passed as `docker run --env-file .env` would: its values override the
//    image's ENV. Only its placeholders are replaced by real-looking values, and PORT by a free
//    port (the container port that `-p` maps).
// It checks /healthz, /readyz, /v1/openapi.json (the contract, read from api/), the HEALTHCHECK
// command, the SQLite file in the volume (owned by that user) and a clean SIGTERM shutdown. Then it
// runs the same again with the placeholders left in, which must refuse to start with a message
// naming each one. Each time, the operator CLI (`node dist/cli.js check-config`) must agree.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';

const fail = (msg) => {
  console.error(`check-dist: ${msg}`);
  process.exit(1);
};

// --- the Dockerfile's final stage: ENV, WORKDIR, VOLUME, HEALTHCHECK and CMD ------------------
const instructions = fs
  .readFileSync('Dockerfile', 'utf8')
  .replace(/\\\r?\n/g, ' ') // continuation lines
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const finalStage = instructions.slice(instructions.findLastIndex((l) => /^FROM\s/i.test(l)));
const imageEnv = {};
for (const line of finalStage.filter((l) => /^ENV\s/i.test(l))) {
  for (const pair of line.replace(/^ENV\s+/i, '').split(/\s+/)) {
    const eq = pair.indexOf('=');
    if (eq < 1) fail(`cannot read the Dockerfile's ENV ${pair} (KEY=value expected)`);
    imageEnv[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
  }
}
const jsonArg = (re) => {
  const line = finalStage.find((l) => re.test(l));
  if (!line) fail(`the Dockerfile's final stage has no ${re}`);
  return JSON.parse(line.replace(re, ''));
};
const cmd = jsonArg(/^CMD\s+/i);
const healthcheck = jsonArg(/^HEALTHCHECK\s+.*?\bCMD\s+/i);
const volume = jsonArg(/^VOLUME\s+/i)[0];
const user = (finalStage.find((l) => /^USER\s/i.test(l)) ?? '').replace(/^USER\s+/i, '');
if (cmd[0] !== 'node' || healthcheck[0] !== 'node') fail('the Dockerfile CMD and HEALTHCHECK are expected to run node');
if (!user || user === 'root') fail('the Dockerfile must switch to a non-root USER');
if (imageEnv.DATA_DIR !== volume) fail(`the image's DATA_DIR (${imageEnv.DATA_DIR}) is not its volume (${volume})`);
// What the final stage copies from the build context (not from the build stage): the app reads these at run time.
const copied = finalStage
  .filter((l) => /^COPY\s/i.test(l) && !/--from=/i.test(l))
  .map((l) => l.split(/\s+/)[1].replace(/\/$/, ''));
for (const dir of ['views', 'public', 'api'])
  if (!copied.includes(dir)) fail(`the Dockerfile's final stage does not COPY ${dir}/ into the image`);

// --- the run: a non-root user, an /app look-alike it cannot write to, a volume it owns ----------
const root = process.getuid() === 0;
const runAs = root
  ? { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), name: 'nobody' }
  : { uid: process.getuid(), name: os.userInfo().username };
if (runAs.uid === 0) fail('cannot find a non-root user to run as');
const asUser = (argv) =>
  root ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...argv]] : [argv[0], argv.slice(1)];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-dist-'));
fs.chmodSync(tmp, 0o755);
const appDir = path.join(tmp, 'app'); // the image's WORKDIR: package.json, dist, and what the Dockerfile copies (root's, read-only)
fs.mkdirSync(appDir);
fs.copyFileSync('package.json', path.join(appDir, 'package.json'));
for (const dir of ['dist', ...copied]) fs.cpSync(dir, path.join(appDir, dir), { recursive: true });
fs.symlinkSync(path.resolve('node_modules'), path.join(appDir, 'node_modules'));
fs.chmodSync(appDir, 0o555);
const children = new Set();
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.chmodSync(appDir, 0o755);
  fs.rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);

function freshVolume(name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  if (root) fs.chownSync(dir, runAs.uid, Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })));
  return dir;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// --- .env.example, as `docker run --env-file` passes it ---------------------------------------
const example = parseEnv(fs.readFileSync('.env.example', 'utf8'));
const PLACEHOLDERS = {
  SESSION_SECRET: randomBytes(36).toString('base64'),
  XT_CLIENT_ID: `xt-${randomBytes(6).toString('hex')}`,
  XT_CLIENT_SECRET: randomBytes(24).toString('hex'),
};
for (const key of Object.keys(PLACEHOLDERS)) if (!example[key]) fail(`.env.example no longer sets ${key}`);
const filled = { ...example, ...PLACEHOLDERS };

/** The container's environment: the image's ENV, then the env file; the volume path mapped to `volumeDir`. */
function containerEnv(envFile, volumeDir, port) {
  const env = { PATH: process.env.PATH, HOME: '/nonexistent', ...imageEnv, ...envFile, PORT: String(port) };
  if (env.DATA_DIR === volume) env.DATA_DIR = volumeDir;
  return env;
}

function run(env) {
  const [bin, args] = asUser([process.execPath, ...cmd.slice(1)]);
  const child = spawn(bin, args, { cwd: appDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, exited, output: () => out };
}

/** The image's operator CLI, `node dist/cli.js check-config`, run as the server is: its exit code and words, and no secret. */
function checkConfigSays(env, code, words) {
  const [bin, args] = asUser([process.execPath, 'dist/cli.js', 'check-config']);
  let out = '';
  let status = 0;
  try {
    out = execFileSync(bin, args, {
      cwd: appDir,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 15_000,
    });
  } catch (err) {
    status = err.status;
    out = `${err.stdout}${err.stderr}`;
  }
  if (status !== code || !out.includes(words))
    fail(`node dist/cli.js check-config exited ${status} (expected ${code}, saying "${words}"):\n${out}`);
  for (const value of Object.values(PLACEHOLDERS))
    if (out.includes(value)) fail('node dist/cli.js check-config printed a secret');
}

async function answers(url, deadline) {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

// 1. Secrets filled in: it starts, answers, keeps its sessions in the volume, stops cleanly.
{
  const volumeDir = freshVolume('data');
  const port = await freePort();
  const env = containerEnv(filled, volumeDir, port);
  const app = run(env);
  let stopping = false;
  void app.exited.then(
    (code) =>
      stopping ||
      fail(
        `the built server exited (${code}) as ${runAs.name} with .env.example (secrets filled in):\n${app.output()}`,
      ),
  );
  if (!(await answers(`http://127.0.0.1:${port}/healthz`, Date.now() + 15_000)))
    fail(`the built server did not answer /healthz:\n${app.output()}`);
  if (!(await answers(`http://127.0.0.1:${port}/readyz`, Date.now() + 5_000)))
    fail(`the built server's /readyz did not answer 200:\n${app.output()}`);
  const contract = await fetch(`http://127.0.0.1:${port}/v1/openapi.json`);
  const doc = contract.ok ? await contract.json() : undefined;
  if (doc?.openapi !== '3.1.0')
    fail(`the built server's /v1/openapi.json answered ${contract.status}:\n${app.output()}`);
  const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${app.child.pid}/status`, 'utf8'))?.[1]);
  if (uid !== runAs.uid) fail(`the server runs as uid ${uid}, not as ${runAs.name} (${runAs.uid})`);
  const [hcBin, hcArgs] = asUser([process.execPath, ...healthcheck.slice(1)]);
  try {
    execFileSync(hcBin, hcArgs, { cwd: appDir, env, stdio: 'inherit', timeout: 5_000 });
  } catch {
    fail("the Dockerfile's HEALTHCHECK command failed against the running server");
  }
  stopping = true;
  app.child.kill('SIGTERM');
  const code = await Promise.race([app.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
  if (code !== 0) fail(`the server did not exit 0 on SIGTERM (${code}):\n${app.output()}`);
  checkConfigSays(env, 0, 'configuration OK');
  const db = path.join(volumeDir, 'xt-connect.sqlite');
  if (!fs.existsSync(db))
    fail(`no SQLite database was created in the volume (DATA_DIR=${env.DATA_DIR}):\n${app.output()}`);
  if (fs.statSync(db).uid !== runAs.uid) fail(`the SQLite database is not owned by ${runAs.name}`);
  console.log(
    `check-dist: as ${runAs.name} (uid ${runAs.uid}), with the Dockerfile's ENV and CMD and .env.example (secrets filled in), ` +
      `the built server answered /healthz, /readyz, /v1/openapi.json and the HEALTHCHECK, kept its sessions in the volume and shut down cleanly`,
  );
}

// 2. The placeholders left in: it must refuse to start, naming each one.
{
  const port = await freePort();
  const app = run(containerEnv(example, freshVolume('data-placeholders'), port));
  const code = await Promise.race([app.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
  if (code === 'timeout') {
    app.child.kill('SIGKILL');
    fail(
      `the built server started with .env.example's placeholders (NODE_ENV=${imageEnv.NODE_ENV}); it must refuse:\n${app.output()}`,
    );
  }
  if (code === 0) fail(`the built server exited 0 with .env.example's placeholders; it must fail:\n${app.output()}`);
  checkConfigSays(containerEnv(example, freshVolume('data-cli'), port), 1, 'SESSION_SECRET: still the placeholder');
  for (const key of Object.keys(PLACEHOLDERS)) {
    if (!app.output().includes(`${key}: still the placeholder from .env.example`))
      fail(`the refusal does not name ${key}:\n${app.output()}`);
  }
  console.log(
    `check-dist: with .env.example's placeholders left in, it refused to start (exit ${code}):\n${app.output().trimEnd().replace(/^/gm, '  | ')}`,
  );
}

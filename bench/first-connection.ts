/**
 * `npm run bench:first-connection`: how long a newcomer waits from a fresh clone to a person
 * connected in the institution example (examples/institution), in three timed phases:
 *  1. clone: `git clone` of this checkout into a temporary folder;
 *  2. start: `npm run example` there, until the example's page answers: npm ci (with an empty npm
 *     cache, as on a fresh machine; NPM_CACHE=warm keeps the machine's cache), the client
 *     package's build, the stand-ins, xt-connect and the example's server;
 *  3. connect: Debian's Chromium opens the example's page, clicks "Connect XT.COM", approves in the
 *     popup, and waits until the page shows the connection and the balances.
 * The result goes to bench/results/first-connection.md. It installs every dependency again, so CI
 * does not run it (the example itself runs in CI: test/browser/example-institution.browser.test.ts).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/helpers/browser.js';
import { freePort } from '../test/helpers/ports.js';
import { ROOT, cpuDescription } from './lib.js';

const OUT = path.join(ROOT, 'bench/results/first-connection.md');

async function until(what: string, ok: () => Promise<boolean>, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${limitMs / 1000} s`);
}

/** Phase 2: `npm run example` in `dir` on free ports; resolves with the page's address once it answers. */
async function startExample(
  dir: string,
  warm: boolean,
): Promise<{ url: string; child: ChildProcess; log: () => string }> {
  const [port, examplePort, xt, oidc] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    EXAMPLE_PORT: String(examplePort),
    STANDIN_XT_PORT: String(xt),
    STANDIN_OIDC_PORT: String(oidc),
  };
  if (!warm) env.npm_config_cache = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-npm-cache-'));
  const child = spawn('npm', ['run', 'example'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  for (const s of [child.stdout, child.stderr]) s.on('data', (c: Buffer) => (out += c.toString()));
  const url = `http://localhost:${examplePort}/`;
  await until('the example', async () => (await fetch(url)).ok, 10 * 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${out.slice(-3000)}`);
  });
  return { url, child, log: () => out };
}

/** Phase 3: a person connects in Chromium, until the balances show. */
async function connect(url: string): Promise<void> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(url);
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('button', { name: 'Connect XT.COM' }).click(),
    ]);
    await popup.getByRole('button', { name: 'Authorize' }).click();
    await page.locator('table tbody tr').first().waitFor();
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const warm = process.env.NPM_CACHE === 'warm';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-first-'));
  const t0 = Date.now();
  execFileSync('git', ['clone', '--quiet', ROOT, path.join(dir, 'xt-connect')]);
  const t1 = Date.now();
  const app = await startExample(path.join(dir, 'xt-connect'), warm);
  const t2 = Date.now();
  await connect(app.url);
  const t3 = Date.now();
  process.kill(-app.child.pid!, 'SIGTERM');
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const report = [
    '# From a fresh clone to a connected person (the institution example)',
    '',
    `Measured ${new Date().toISOString()} on ${cpuDescription()}, Node ${process.version}, npm cache ${warm ? 'warm' : 'empty (a fresh machine)'}, by \`npm run bench:first-connection\` (bench/first-connection.ts).`,
    '',
    '| phase | time |',
    '| --- | --- |',
    `| 1. \`git clone\` (of a local checkout: a clone over the network adds its transfer) | ${s(t1 - t0)} |`,
    `| 2. \`npm run example\` until the page answers (npm ci, client build, stand-ins, app, example) | ${s(t2 - t1)} |`,
    `| 3. the person connects in Chromium (page, popup, approve, balances shown) | ${s(t3 - t2)} |`,
    `| **total** | **${s(t3 - t0)}** |`,
    '',
  ].join('\n');
  fs.writeFileSync(OUT, report);
  process.stdout.write(`${report}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

void main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});

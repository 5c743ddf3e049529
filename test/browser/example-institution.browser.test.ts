/**
 * The institution example (examples/institution), end to end, as `npm run example` runs it: the demo
 * (stand-ins and app) and the example's own server as real processes, driven in Debian's Chromium.
 * The person opens the institution's page, connects XT.COM in the drop-in button's popup, and the
 * page then shows the connection and the balances that the example read through the client package,
 * and the webhook it verified; Disconnect ends it, and connection.ended arrives; connecting again
 * without the popup (the whole page) comes back to the institution's page. axe finds nothing
 * serious or critical on the page, and its CSP refuses nothing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../../src/app.js';
import { axe, launchChromium } from '../helpers/browser.js';
import { tempDir } from '../helpers/harness.js';
import { freePort } from '../helpers/ports.js';

let run: ChildProcess | undefined;
let output = '';
let browser: Browser | undefined;
let example = '';
let startedAt = 0;

/** Starts `npm run example`'s script on free ports; resolves once both servers answer. */
async function startExample(): Promise<void> {
  const [port, examplePort, xt, oidc] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  example = `http://localhost:${examplePort}`;
  run = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'example.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      EXAMPLE_PORT: String(examplePort),
      STANDIN_XT_PORT: String(xt),
      STANDIN_OIDC_PORT: String(oidc),
      DATA_DIR: tempDir('example-'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [run.stdout!, run.stderr!]) s.on('data', (c: Buffer) => (output += c.toString()));
  for (let i = 0; i < 200; i++) {
    if (run.exitCode !== null) throw new Error(`the example exited (${run.exitCode}):\n${output.slice(-3000)}`);
    // Its own page, not another test's server that took the same free port meanwhile.
    const ours = await fetch(`${example}/`).then(
      async (r) => r.ok && (await r.text()).includes('<title>Example Institution</title>'),
      () => false,
    );
    if (ours) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the example did not start within 20 s:\n${output.slice(-3000)}`);
}

beforeAll(async () => {
  startedAt = Date.now();
  // What npm's preexample script does: the client package, built as an institution installs it.
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'packages/client/tsconfig.build.json'],
    {
      cwd: ROOT,
    },
  );
  await startExample();
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (run && run.exitCode === null) {
    const gone = new Promise((r) => run!.once('exit', r));
    run.kill('SIGTERM');
    await gone;
  }
});

/** Reloads until `selector`'s text matches `re` (the webhooks arrive on their own schedule). */
async function until(page: Page, selector: string, re: RegExp): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const text =
      (await page
        .locator(selector)
        .textContent()
        .catch(() => '')) ?? '';
    if (re.test(text)) return text;
    await page.waitForTimeout(200);
    await page.reload();
  }
  throw new Error(`${selector} never matched ${re}:\n${output.slice(-3000)}`);
}

test('a person connects on the institution page: connection, balances and the webhook show; Disconnect ends it', async () => {
  const context = await browser!.newContext({ locale: 'en-US' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const refused: string[] = [];
  page.on('console', (m) => m.type() === 'error' && refused.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && refused.push(`${r.status()} ${r.url()}`));
  await page.goto(`${example}/`);
  await expect(page.locator('#state').textContent()).resolves.toMatch(/Not connected/);
  expect(await axe(page)).toEqual([]);

  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    page.getByRole('button', { name: 'Connect XT.COM' }).click(),
  ]);
  await popup.getByRole('button', { name: 'Authorize' }).click();
  // The page reloads itself on onSuccess, and then shows the connection.
  await page.locator('#state', { hasText: /Connected as XT\.COM user \d+/ }).waitFor();
  const connectedMs = Date.now() - startedAt;
  const balances = await page.locator('table tbody tr').allTextContents();
  expect(balances.length).toBeGreaterThan(0);
  expect(balances.join(' ')).toMatch(/USDT/);
  await until(page, '#webhooks', /connection\.created for alice/);
  expect(await axe(page)).toEqual([]);

  await page.getByRole('button', { name: 'Disconnect XT.COM' }).click();
  await page.locator('#state', { hasText: /Not connected/ }).waitFor();
  await until(page, '#webhooks', /connection\.ended for alice \(revoked_by_service\)/);

  // Without the popup: the whole page goes to XT.COM and comes back to the institution's page.
  await page.getByRole('button', { name: 'Connect in this window' }).click();
  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL(`${example}/`);
  await page.locator('#state', { hasText: /Connected as XT\.COM user \d+/ }).waitFor();
  expect(refused).toEqual([]); // no CSP refusal, no failed script
  // Its POSTs come from its own pages only: another site's form (or no Origin at all) is refused, and
  // so is a DNS-rebinding page, whose Host and Origin agree with each other but not with the site's origin.
  const rebound = await new Promise<number>((resolve, reject) => {
    const host = `rebind.attacker.example:${new URL(example).port}`;
    http
      .request(`${example}/link`, { method: 'POST', headers: { Host: host, Origin: `http://${host}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject)
      .end();
  });
  expect(rebound).toBe(403);
  for (const origin of ['http://evil.example', undefined]) {
    for (const path of ['/link', '/disconnect']) {
      const res = await fetch(`${example}${path}`, {
        method: 'POST',
        headers: origin ? { Origin: origin } : {},
        redirect: 'manual',
      });
      expect([path, res.status]).toEqual([path, 403]);
    }
  }
  process.stdout.write(
    `example: start to connected person ${connectedMs} ms (client build, servers, Chromium, approve)\n`,
  );
  await context.close();
}, 90_000);

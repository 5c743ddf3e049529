/**
 * What a newcomer meets on a first start: where the app listens (HOST), a `.env` that `node
 * dist/server.js` would ignore without a word, and a production start that forgot the brand.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../../src/app.js';
import { ConfigError, type Env, loadConfig } from '../../src/config/index.js';
import { type Running, start } from '../../src/server.js';
import { unloadedEnvFile } from '../../src/shared/envFile.js';
import { demoEnv } from '../../scripts/demoEnv.js';
import { startXtStandIn } from '../../standins/xt.js';
import { LogCapture, tempDir } from '../helpers/harness.js';

const good = {
  SESSION_SECRET: 'x'.repeat(32),
  XT_CLIENT_ID: 'id',
  XT_CLIENT_SECRET: 'secret',
  SESSION_STORE: 'memory',
  PORT: '0',
};

describe('HOST', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  test.each([
    [undefined, '0.0.0.0'],
    ['127.0.0.1', '127.0.0.1'],
  ])('HOST=%s listens on %s', async (host, address) => {
    const config = loadConfig({ ...good, HOST: host, SHUTDOWN_DRAIN: '0s' });
    expect(config.server.host).toBe(address);
    running = await start(config, undefined, { logDestination: new LogCapture() });
    expect((running.server.address() as AddressInfo).address).toBe(address);
  });

  test('demo mode (XT_CONNECT_MODE=demo, however it is started) listens on loopback unless HOST says otherwise', () => {
    expect(loadConfig({ XT_CONNECT_MODE: 'demo' }).server.host).toBe('127.0.0.1');
    expect(loadConfig({ XT_CONNECT_MODE: 'demo', HOST: '0.0.0.0' }).server.host).toBe('0.0.0.0');
  });

  test('an empty HOST is a configuration problem', () => {
    expect(() => loadConfig({ ...good, HOST: ' ' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...good, HOST: ' ' })).toThrow(/HOST: must be an address to listen on/);
  });
});

describe('production without the brand', () => {
  const prod = { ...good, NODE_ENV: 'production', SESSION_SECRET: 'a-real-session-secret-0123456789abcdefghijkl' };
  const brandWarnings = (env: Env) => loadConfig(env).warnings.filter((w) => /SITE_NAME|SUPPORT_URL/.test(w));

  test('one warning names what is unset', () => {
    expect(brandWarnings(prod)).toEqual([
      expect.stringMatching(/^SITE_NAME and SUPPORT_URL unset: people see "xt-connect"/),
    ]);
    expect(brandWarnings({ ...prod, SITE_NAME: 'Example Bank' })).toEqual([
      expect.stringMatching(/^SUPPORT_URL unset/),
    ]);
    expect(brandWarnings({ ...prod, SUPPORT_URL: 'mailto:help@example.com' })).toEqual([
      expect.stringMatching(/^SITE_NAME unset/),
    ]);
  });

  test('production reached through an https PUBLIC_URL (NODE_ENV unset) warns too', () => {
    const implicit = { ...prod, NODE_ENV: undefined, PUBLIC_URL: 'https://connect.example.com' };
    expect(loadConfig(implicit).server.env).toBe('production');
    expect(brandWarnings(implicit)).toHaveLength(1);
  });

  test('none once both are set, and none outside production', () => {
    expect(brandWarnings({ ...prod, SITE_NAME: 'Example Bank', SUPPORT_URL: 'mailto:help@example.com' })).toEqual([]);
    expect(brandWarnings({ ...good })).toEqual([]);
  });
});

describe('a .env that was not loaded', () => {
  const SECRET_IN_FILE = 'a-secret-that-must-never-be-printed-0123456789';
  const withEnvFile = () => {
    const dir = tempDir();
    fs.writeFileSync(
      path.join(dir, '.env'),
      `# local settings\nXT_CLIENT_ID=from-the-file\nSESSION_SECRET=${SECRET_IN_FILE}\n`,
    );
    return dir;
  };

  test('is found when any of its settings is missing from the environment, and only then', () => {
    const dir = withEnvFile();
    expect(unloadedEnvFile({}, dir)).toBe(path.join(dir, '.env'));
    expect(unloadedEnvFile({ XT_CLIENT_ID: 'from-the-file' }, dir)).toBe(path.join(dir, '.env'));
    expect(unloadedEnvFile({ XT_CLIENT_ID: 'x', SESSION_SECRET: 'y' }, dir)).toBeUndefined(); // loaded (or overridden)
    expect(unloadedEnvFile({}, tempDir())).toBeUndefined(); // no .env at all
  });

  test('the start that fails says how to load it, and prints none of its values', async () => {
    const dir = withEnvFile();
    // Run from the folder that holds the .env, as `node dist/server.js` is (tsx found from the project).
    const tsx = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', tsx, path.join(ROOT, 'src', 'server.ts')], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('xt-connect cannot start.');
    expect(err).toContain(
      `A .env file is here (${path.join(dir, '.env')}) but was not loaded: npm start loads it, or run node --env-file=.env dist/server.js`,
    );
    expect(err).not.toContain(SECRET_IN_FILE);
    expect(err).not.toContain('from-the-file');
  });
});

describe('the demo', () => {
  const env = (over: NodeJS.ProcessEnv = {}) =>
    loadConfig(
      demoEnv({
        xtUrl: 'http://127.0.0.1:4000',
        ciamIssuer: 'http://127.0.0.1:4001',
        publicOrigin: 'http://localhost:3000',
        env: over,
      }),
    );

  test('listens on loopback unless HOST says otherwise', () => {
    expect(env().server.host).toBe('127.0.0.1');
    expect(env({ HOST: '0.0.0.0' }).server.host).toBe('0.0.0.0');
  });

  test('"No XT.COM account? Create one" stays in the sandbox: the stand-in has the registration page', async () => {
    const xt = await startXtStandIn();
    try {
      const config = loadConfig(
        demoEnv({ xtUrl: xt.url, ciamIssuer: 'http://127.0.0.1:4001', publicOrigin: 'http://localhost:3000', env: {} }),
      );
      expect(config.xt?.registerUrl.startsWith(`${xt.url}/{lang}/accounts/register`)).toBe(true);
      // In the language of its {lang}, as XT.COM's own page is.
      for (const [lang, says] of [
        ['en', 'This demo creates no account'],
        ['ja', 'このデモではアカウントは作成されません'],
      ]) {
        const page = await fetch(`${xt.url}/${lang}/accounts/register?client_id=demo-client`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain(says);
      }
    } finally {
      await xt.close();
    }
  });
});

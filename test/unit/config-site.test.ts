/** The brand settings (SITE_*, SUPPORT_URL), SCOPE_TEXTS and XT_REGISTER_URL: defaults, and every problem listed at once. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, DEFAULT_XT_REGISTER_URL, loadConfig } from '../../src/config/index.js';

const good = { SESSION_SECRET: 'x'.repeat(32), XT_CLIENT_ID: 'id', XT_CLIENT_SECRET: 'secret' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...good, ...env });
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

test('defaults: the name xt-connect, the default accent, no logo, home or support link, XT.COM registration', () => {
  const c = loadConfig(good);
  expect(c.site).toEqual({
    name: 'xt-connect',
    accentColor: '#0b6bcb',
    scopeTexts: {},
    logo: undefined,
    homeUrl: undefined,
    supportUrl: undefined,
  });
  expect(c.xt?.registerUrl).toBe(DEFAULT_XT_REGISTER_URL);
});

test('each setting, read', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-site-'));
  fs.mkdirSync(path.join(dir, 'brand'));
  fs.writeFileSync(path.join(dir, 'brand', 'Logo.PNG'), 'png');
  const c = loadConfig({
    ...good,
    DATA_DIR: dir,
    SITE_NAME: '  Example Exchange Partner ',
    SITE_LOGO_URL: 'brand/Logo.PNG',
    SITE_ACCENT_COLOR: '#E60',
    SITE_HOME_URL: 'https://partner.example.com/home',
    SUPPORT_URL: 'mailto:help@partner.example.com',
    SCOPE_TEXTS: '{"spotAssets": "Read balances", "x.y": {"zh-Hant": "某項權限"}}',
    XT_REGISTER_URL: 'https://www.xt-qa.com/{lang}/accounts/register?client_id={client_id}&src=partner',
  });
  expect(c.site).toEqual({
    name: 'Example Exchange Partner',
    logo: { url: '/brand/logo.png', file: path.join(dir, 'brand', 'Logo.PNG') },
    accentColor: '#ee6600',
    homeUrl: 'https://partner.example.com/home',
    supportUrl: 'mailto:help@partner.example.com',
    scopeTexts: { spotAssets: 'Read balances', 'x.y': { 'zh-Hant': '某項權限' } },
  });
  expect(loadConfig({ ...good, SITE_LOGO_URL: '/static/logo.svg', SITE_HOME_URL: '/welcome' }).site).toMatchObject({
    logo: { url: '/static/logo.svg' },
    homeUrl: '/welcome',
  });
});

test('every bad value is named, all at once', () => {
  const found = problems({
    SITE_ACCENT_COLOR: 'blue',
    SITE_LOGO_URL: 'https://cdn.example.com/logo.svg',
    SITE_HOME_URL: 'javascript:alert(1)',
    SUPPORT_URL: 'ftp://help.example.com',
    SCOPE_TEXTS: '{"spotAssets": {"fr": "x"}, "ok": 3}',
    XT_REGISTER_URL: 'http://www.xt.com/{language}/register',
    SITE_NAME: 'x'.repeat(81),
  });
  expect(found).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^SITE_ACCENT_COLOR: must be a CSS hex color/),
      expect.stringMatching(/^SITE_LOGO_URL: must be a path on this site/),
      expect.stringMatching(/^SITE_HOME_URL: must be an http\(s\) URL or a path on this site/),
      expect.stringMatching(/^SUPPORT_URL: must be an http\(s\) URL or mailto:address/),
      expect.stringMatching(/^SCOPE_TEXTS: "spotAssets" names the language "fr"/),
      expect.stringMatching(/^SCOPE_TEXTS: the text for "ok" must be a string/),
      expect.stringMatching(/^XT_REGISTER_URL: \{language\} is not a placeholder/),
      expect.stringMatching(/^SITE_NAME: must be at most 80 characters/),
    ]),
  );
  expect(found).toHaveLength(8);
});

test.each([
  ['SITE_LOGO_URL', 'missing.png', /^SITE_LOGO_URL: no file missing\.png in DATA_DIR/],
  ['SITE_LOGO_URL', '../etc/logo.png', /^SITE_LOGO_URL: must be a path on this site/],
  ['SITE_LOGO_URL', '//cdn.example.com/logo.png', /^SITE_LOGO_URL: must be a path on this site/],
  ['SITE_LOGO_URL', '/logo" onerror="x', /^SITE_LOGO_URL: must be a path on this site/],
  ['SITE_LOGO_URL', 'logo.exe', /^SITE_LOGO_URL: must be a path on this site/],
  ['SITE_ACCENT_COLOR', '#12345', /^SITE_ACCENT_COLOR: must be a CSS hex color/],
  ['SITE_ACCENT_COLOR', 'red; } body { display: none', /^SITE_ACCENT_COLOR: must be a CSS hex color/],
  ['SCOPE_TEXTS', 'spotAssets=Read', /^SCOPE_TEXTS: must be a JSON object/],
  ['SCOPE_TEXTS', '["a"]', /^SCOPE_TEXTS: must be a JSON object/],
  ['XT_REGISTER_URL', 'http://www.xt.com/{lang}/accounts/register', /^XT_REGISTER_URL: must use https/],
  ['XT_REGISTER_URL', 'not a url', /^XT_REGISTER_URL: must be an http\(s\) URL/],
  ['SUPPORT_URL', 'mailto:', /^SUPPORT_URL: must be an http\(s\) URL or mailto:address/],
])('%s=%j is refused', (key, value, message) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-site-'));
  expect(problems({ DATA_DIR: dir, [key]: value })).toEqual([expect.stringMatching(message)]);
});

test('XT_REGISTER_URL may be plain http on loopback (the stand-in)', () => {
  expect(
    loadConfig({ ...good, XT_REGISTER_URL: 'http://127.0.0.1:4000/{lang}/accounts/register?client_id={client_id}' }).xt
      ?.registerUrl,
  ).toContain('127.0.0.1');
});

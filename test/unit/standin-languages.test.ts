/** The stand-ins' pages speak the eleven languages: XT.COM's by its {lang}, CIAM's by ui_locales. */
import type { InteractionDetails } from 'oidc-provider';
import { XT_LANGUAGES } from '../../src/config/index.js';
import { LANGUAGES } from '../../src/i18n/index.js';
import { signInPage } from '../../standins/oidc/pages.js';
import oidcWords from '../../standins/oidc/words.json' with { type: 'json' };
import { authorizePage, pageLang, registerPage } from '../../standins/xt/pages.js';
import xtWords from '../../standins/xt/words.json' with { type: 'json' };

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test.each([
  ['XT.COM', xtWords, [...XT_LANGUAGES]],
  ['CIAM', oidcWords, LANGUAGES.map((l) => l.tag)],
] as const)('%s stand-in: every language, every word, the same placeholders', (_name, words, langs) => {
  expect(Object.keys(words).sort()).toEqual([...langs].sort());
  const en = words.en as Record<string, string>;
  for (const [lang, w] of Object.entries(words) as [string, Record<string, string>][]) {
    expect([lang, Object.keys(w).sort()]).toEqual([lang, Object.keys(en).sort()]);
    for (const key of Object.keys(en)) {
      expect([lang, key, placeholders(w[key]!)]).toEqual([lang, key, placeholders(en[key]!)]);
      if (lang !== 'en' && !/^(title|signOutTitle)$/.test(key))
        expect([lang, key, w[key]]).not.toEqual([lang, key, en[key]]);
    }
  }
});

test("XT.COM's pages: the {lang} of the URL picks the words; Traditional Chinese tags go to zh-HK", () => {
  expect(['zh-TW', 'zh-MO', 'zh-Hant', 'ZH-hk'].map(pageLang)).toEqual(['zh-HK', 'zh-HK', 'zh-HK', 'zh-HK']);
  expect(['ja', 'th', 'vi', 'fr', 'zh'].map(pageLang)).toEqual(['ja', 'th', 'vi', 'en', 'zh-CN']);
  const page = authorizePage('th', 'th', { client_id: 'c', scope: 'spotAssets' }, { clientId: 'c', userId: '1' });
  expect(page).toContain('<html lang="th">');
  expect(page).toContain('>อนุญาต</button>');
  expect(page).toContain('(spotAssets)');
  expect(registerPage('ja', '12345678')).toContain('デモユーザー 12345678 として');
});

test("CIAM's sign-in page: ui_locales picks the words (zh-TW → Traditional), else Accept-Language", () => {
  const details = (ui_locales?: string) =>
    ({ uid: 'u', params: { client_id: 'app', scope: 'openid', ui_locales } }) as unknown as InteractionDetails;
  const account = { name: 'Li Lei', email: 'li@example.com' } as Parameters<typeof signInPage>[1];
  expect(signInPage(details('ja'), account)).toContain('<h1>app にログイン</h1>');
  expect(signInPage(details('zh-TW'), account)).toContain('<html lang="zh-Hant">');
  expect(signInPage(details(), account, 'ru-RU,ru;q=0.9')).toContain('>Разрешить</button>');
  expect(signInPage(details('fr'), account)).toContain('<html lang="en">');
});

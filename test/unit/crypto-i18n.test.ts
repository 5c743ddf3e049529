import { Sealer } from '../../src/session/crypto.js';
import {
  LANGUAGES,
  chosenLocale,
  languagePreference,
  pickLocale,
  pickProviderLanguage,
  translator,
} from '../../src/i18n/index.js';
import { XT_LANGUAGES } from '../../src/config/index.js';

describe('Sealer (AES-256-GCM)', () => {
  const k1 = Buffer.alloc(32, 1);
  const k2 = Buffer.alloc(32, 2);

  test('round trip, and the plaintext is not in the blob', () => {
    const s = new Sealer([k1]);
    const blob = s.seal('{"accessToken":"tok-123"}', 'aad');
    expect(blob).not.toContain('tok-123');
    expect(s.open(blob, 'aad')).toBe('{"accessToken":"tok-123"}');
  });

  test('rotation: the new first key encrypts, old keys still decrypt', () => {
    const old = new Sealer([k1]).seal('x', 'a');
    const rotated = new Sealer([k2, k1]);
    expect(rotated.open(old, 'a')).toBe('x');
    expect(new Sealer([k1]).open(rotated.seal('y', 'a'), 'a')).toBeUndefined();
  });

  test('tampering, a removed key or another record key → undefined', () => {
    const s = new Sealer([k1]);
    const blob = s.seal('x', 'a');
    const parts = blob.split('.');
    parts[3] = Buffer.from('evil').toString('base64url');
    expect(s.open(parts.join('.'), 'a')).toBeUndefined();
    expect(new Sealer([k2]).open(blob, 'a')).toBeUndefined();
    expect(s.open(blob, 'b')).toBeUndefined();
    expect(s.open('garbage', 'a')).toBeUndefined();
  });

  test('a key derived from SESSION_SECRET is stable', () => {
    const a = Sealer.fromConfig(['s'.repeat(32)]);
    const b = Sealer.fromConfig(['s'.repeat(32)]);
    expect(b.open(a.seal('x', 'k'), 'k')).toBe('x');
  });
});

describe('languages', () => {
  test.each([
    ['zh-CN,zh;q=0.9', 'zh-CN'],
    ['zh-TW', 'zh-HK'],
    ['zh-Hant-HK', 'zh-HK'],
    ['zh', 'zh-CN'],
    ['ja-JP,en;q=0.5', 'ja'],
    ['en-GB', 'en'],
    ['de-DE,fr;q=0.9', 'en'],
    ['en;q=0.1,ru;q=0.9', 'ru'],
    [undefined, 'en'],
    ['*', 'en'],
    ['x'.repeat(5000), 'en'],
  ])('%j → XT.COM page language %s', (header, lang) => expect(pickProviderLanguage(header, XT_LANGUAGES)).toBe(lang));

  test('page locale: Simplified, Traditional (zh-HK, zh-TW, zh-Hant), English', () => {
    for (const tag of ['zh-HK', 'zh-TW', 'zh-MO', 'zh-Hant', 'zh-Hant-CN', 'zh-hant-hk'])
      expect(pickLocale(tag)).toBe('zh-Hant');
    for (const tag of ['zh', 'zh-CN', 'zh-SG', 'zh-Hans', 'zh-Hans-HK']) expect(pickLocale(tag)).toBe('zh-CN');
    expect(pickLocale('fr,en')).toBe('en');
    expect(pickLocale('fr,zh-TW;q=0.5,en;q=0.4')).toBe('zh-Hant');
    expect(translator('zh-CN')('home.connect', { provider: 'XT.COM' })).toBe('连接 XT.COM');
    expect(translator('zh-Hant')('home.connect', { provider: 'XT.COM' })).toBe('連接 XT.COM');
  });

  test.each([
    ['ja-JP,ja;q=0.9,en;q=0.8', 'ja'],
    ['hi-IN', 'hi'],
    ['id-ID', 'id'],
    ['in-ID', 'id'],
    ['ru-RU,ru;q=0.9', 'ru'],
    ['es-419', 'es'],
    ['tr', 'tr'],
    ['vi-VN', 'vi'],
    ['th-TH', 'th'],
    ['fr-FR,de;q=0.9,th;q=0.2,en;q=0.1', 'th'],
    ['en;q=0.5,ru;q=0.9', 'ru'],
    ['de,en-US;q=0.8', 'en'],
  ])('Accept-Language %j → page locale %s', (header, locale) => expect(pickLocale(header)).toBe(locale));

  test('the provider page language follows the page language, ahead of the browser list', () => {
    // The page is Thai (the first of ours); a provider speaking French as well still gets Thai.
    expect(pickProviderLanguage(languagePreference(undefined, 'fr,th;q=0.5'), ['en', 'fr', 'th'])).toBe('th');
    // None of ours: the browser list as it is (the page is English; the provider may do better).
    expect(pickProviderLanguage(languagePreference(undefined, 'fr,de'), ['en', 'fr'])).toBe('fr');
    for (const l of LANGUAGES)
      expect(pickProviderLanguage(languagePreference(`lang=${l.tag}`, 'en'), XT_LANGUAGES)).toBe(
        l.tag === 'zh-Hant' ? 'zh-HK' : l.tag,
      );
  });

  test("the language menu's cookie overrides Accept-Language, and only its own values count", () => {
    expect(chosenLocale('xtc.sid=abc; lang=zh-Hant')).toBe('zh-Hant');
    expect(chosenLocale('lang=zh-CN')).toBe('zh-CN');
    expect(chosenLocale('lang=en; other=1')).toBe('en');
    for (const bad of ['lang=fr', 'lang=zh-hant', 'lang=<script>', 'lang=', 'xlang=en', undefined])
      expect(chosenLocale(bad)).toBeUndefined();
    // The XT.COM page language follows the choice.
    expect(pickProviderLanguage(languagePreference('lang=zh-Hant', 'en-US'), XT_LANGUAGES)).toBe('zh-HK');
    expect(pickProviderLanguage(languagePreference('lang=zh-CN', 'en-US'), XT_LANGUAGES)).toBe('zh-CN');
    expect(pickProviderLanguage(languagePreference('lang=en', 'zh-CN'), XT_LANGUAGES)).toBe('en');
    expect(pickProviderLanguage(languagePreference(undefined, 'ja-JP'), XT_LANGUAGES)).toBe('ja');
    // A provider with zh-TW but not zh-HK still gets Traditional.
    expect(pickProviderLanguage('zh-Hant', ['en', 'zh-TW'])).toBe('zh-TW');
  });
});

/**
 * The eleven page languages, checked as a whole: every message exists in each, with the same
 * placeholders and no English left over; each says "connect" and "disconnect" as its glossary
 * (src/i18n/glossary.json) does; Chinese and Japanese use full-width punctuation; Chinese uses
 * plain words, and Simplified and Traditional do not mix scripts.
 */
import glossary from '../../src/i18n/glossary.json' with { type: 'json' };
import { CATALOGS, LANGUAGES, type Locale, type MessageKey } from '../../src/i18n/index.js';

const keys = Object.keys(CATALOGS.en) as MessageKey[];
const placeholders = (s: string) => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
/** The text a person reads: placeholders (which become provider names, times…) left out. */
const prose = (s: string) => s.replace(/\{\w+\}/g, ' ');

const SIMPLIFIED_ONLY = [
  ...'连账户断续请这们录网页设应该额币价数冻结单对时间实从无权载开后来过还没问题发现经线删认证识别资讯',
];
const TRADITIONAL_ONLY = [
  ...'連帳戶斷續請這們錄網頁設應該額幣價數凍結單對時間實從無權載開後來過還沒問題發現經線刪認證識別資訊',
];

const ELEVEN = ['en', 'ja', 'hi', 'id', 'ru', 'es', 'tr', 'zh-Hant', 'zh-CN', 'vi', 'th'];
const OTHERS = ELEVEN.filter((l) => l !== 'en') as Exclude<Locale, 'en'>[];

test("the language menu lists XT.COM's eleven languages, each in its own name", () => {
  expect(LANGUAGES.map((l) => l.tag)).toEqual(ELEVEN);
  expect(Object.keys(CATALOGS).sort()).toEqual([...ELEVEN].sort());
  expect(Object.keys(glossary.languages).sort()).toEqual([...ELEVEN].sort());
  expect(LANGUAGES.map((l) => l.name)).toEqual([
    'English',
    '日本語',
    'हिन्दी',
    'Bahasa Indonesia',
    'Русский',
    'Español',
    'Türkçe',
    '繁體中文',
    '简体中文',
    'Tiếng Việt',
    'ไทย',
  ]);
});

/** Words that stay as they are in every language: names, and what the person sees on XT.COM itself. */
const ALLOWED_EVERYWHERE = ['xt-connect', 'XT.COM', 'API', 'ID'];
/** English-looking words that are the language's own (loanwords and cognates its readers use). */
const OWN_WORDS: Partial<Record<Locale, string[]>> = {
  id: ['email', 'valid', 'spot'],
  vi: ['email'],
  es: ['spot', 'postal', 'uses', 'has', 'local'],
  tr: ['spot', 'site', 'link', 'form'],
  th: ['spot'],
};
/** Every word of three letters or more the English catalog uses. */
const ENGLISH = new Set(
  Object.values(CATALOGS.en).flatMap((s) => [...prose(s).matchAll(/\p{L}{3,}/gu)].map((m) => m[0].toLowerCase())),
);

describe.each(OTHERS)('%s', (locale) => {
  const cat = CATALOGS[locale];
  const words = glossary.languages[locale];

  test('has every message, no other, none empty, with the same placeholders as English', () => {
    expect(Object.keys(cat).sort()).toEqual([...keys].sort());
    for (const key of keys) {
      expect(cat[key].trim()).not.toBe('');
      expect([key, placeholders(cat[key])]).toEqual([key, placeholders(CATALOGS.en[key])]);
    }
  });

  test('has no English left, beyond names and the allowed words', () => {
    const allowed = new Set([...ALLOWED_EVERYWHERE, ...(OWN_WORDS[locale] ?? [])].map((w) => w.toLowerCase()));
    const latinScript = /^(id|es|tr|vi)$/.test(locale);
    const left = keys.flatMap((key) =>
      [...prose(cat[key]).matchAll(/\p{Script=Latin}[\p{Script=Latin}.-]*\p{Script=Latin}|\p{Script=Latin}/gu)]
        .map((m) => m[0])
        .filter((w) => /[A-Za-z]/.test(w) && !allowed.has(w.toLowerCase()))
        // A Latin-script language shares letters with English: only English's own words count there.
        .filter((w) => !latinScript || ENGLISH.has(w.toLowerCase()))
        .map((w) => `${key}: ${w}`),
    );
    expect(left).toEqual([]);
    expect(
      keys.filter((key) => key !== 'app.title' && cat[key] === CATALOGS.en[key] && /\p{L}{4}/u.test(cat[key])),
    ).toEqual(locale === 'id' || locale === 'vi' ? ['account.email'] : []);
  });

  test('says "connect" and "disconnect" as its glossary does, wherever English says them', () => {
    const connect = new RegExp(words.match.connect, 'iu');
    const disconnect = new RegExp(words.match.disconnect, 'iu');
    const inEnglish = (re: RegExp) => keys.filter((key) => key !== 'app.title' && re.test(CATALOGS.en[key]));
    const saysDisconnect = inEnglish(/disconnect/i);
    const saysConnect = inEnglish(/\b(re)?connect/i).filter((key) => !saysDisconnect.includes(key));
    expect(saysConnect.length).toBeGreaterThan(20);
    expect(saysDisconnect.length).toBeGreaterThan(3);
    expect(saysConnect.filter((key) => !connect.test(cat[key])).map((key) => `${key}: ${cat[key]}`)).toEqual([]);
    expect(saysDisconnect.filter((key) => !disconnect.test(cat[key])).map((key) => `${key}: ${cat[key]}`)).toEqual([]);
    // The glossary's own words for the terms match its stems (so the check is not vacuous).
    expect(connect.test(words.connect)).toBe(true);
    expect(disconnect.test(words.disconnect)).toBe(true);
  });
});

/** Chinese and Japanese: the checks of full-width punctuation. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;

test.each(['ja', 'zh-CN', 'zh-Hant'] as const)(
  '%s uses full-width punctuation: no half-width colon or comma between CJK characters',
  (locale) => {
    const cat = CATALOGS[locale];
    const between = new RegExp(`${CJK.source}\\s*[,:]\\s*${CJK.source}`, 'u');
    const next = new RegExp(`${CJK.source}\\s*[,:;!?()]|[,:;!?()]\\s*${CJK.source}`, 'u');
    expect(keys.filter((key) => between.test(prose(cat[key])))).toEqual([]);
    expect(keys.filter((key) => next.test(prose(cat[key])))).toEqual([]);
  },
);

test('the punctuation check is not vacuous: it finds a half-width comma and colon in Japanese', () => {
  const between = new RegExp(`${CJK.source}\\s*[,:]\\s*${CJK.source}`, 'u');
  expect(between.test('連携しました, ありがとう')).toBe(true);
  expect(between.test('Note: 連携')).toBe(false); // a colon after Latin text: caught by the next check
  expect(between.test('連携:解除')).toBe(true);
});

describe.each(['zh-CN', 'zh-Hant'] as const)('%s', (locale) => {
  const cat = CATALOGS[locale];

  test('uses full-width punctuation: no half-width colon or comma (nor ; ! ? or parentheses) next to Chinese', () => {
    const bad = keys.filter((key) => /\p{Script=Han}\s*[,:;!?()]|[,:;!?()]\s*\p{Script=Han}/u.test(prose(cat[key])));
    expect(bad).toEqual([]);
    // A half-width colon or comma anywhere in Chinese prose is wrong too (there is no Latin list in these messages).
    expect(keys.filter((key) => /[,:]/.test(prose(cat[key])))).toEqual([]);
  });

  test('uses plain words (连接, 授权), not jargon (令牌, 主体标识)', () => {
    const jargon = /令牌|主体标识|主體標識|token|scope|subject/i;
    expect(keys.filter((key) => jargon.test(prose(cat[key])))).toEqual([]);
  });

  test('does not mix Simplified and Traditional characters', () => {
    const foreign = locale === 'zh-CN' ? TRADITIONAL_ONLY : SIMPLIFIED_ONLY;
    const mixed = keys.filter((key) => foreign.some((c) => cat[key].includes(c)));
    expect(mixed.map((key) => `${key}: ${cat[key]}`)).toEqual([]);
  });
});

test('English, what a person reads, has no token words', () => {
  const people = keys.filter((key) => key !== 'error.unauthorized'); // the service API's answer to a backend
  expect(people.filter((key) => /token|\bscope\b|subject/i.test(prose(CATALOGS.en[key])))).toEqual([]);
});

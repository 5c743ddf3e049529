/**
 * The three page languages, checked as a whole: every message exists in each, with the same
 * placeholders; Chinese uses full-width punctuation and plain words; Simplified and Traditional
 * do not mix scripts.
 */
import { CATALOGS, LANGUAGES, type MessageKey } from '../../src/i18n/index.js';

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

test('the language menu lists the three languages', () => {
  expect(LANGUAGES.map((l) => l.tag)).toEqual(['en', 'zh-CN', 'zh-Hant']);
  expect(Object.keys(CATALOGS).sort()).toEqual(['en', 'zh-CN', 'zh-Hant']);
});

describe.each(['zh-CN', 'zh-Hant'] as const)('%s', (locale) => {
  const cat = CATALOGS[locale];

  test('has every message, no other, none empty, with the same placeholders as English', () => {
    expect(Object.keys(cat).sort()).toEqual([...keys].sort());
    for (const key of keys) {
      expect(cat[key].trim()).not.toBe('');
      expect([key, placeholders(cat[key])]).toEqual([key, placeholders(CATALOGS.en[key])]);
    }
  });

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

/** Amounts in the page's locale: Intl's grouping and decimal mark, with every decimal XT.COM sent kept. */
import { formatAmount } from '../../src/i18n/index.js';

test.each([
  ['en', '12345678901234567.123456789012345678', '12,345,678,901,234,567.123456789012345678'],
  ['ru', '1234.5', '1\u00a0234,5'],
  ['hi', '12345678.00000001', '1,23,45,678.00000001'],
  ['es', '0.00012300', '0,00012300'],
  ['tr', '-1234567.1', '-1.234.567,1'],
  ['vi', '1234567', '1.234.567'],
  ['ja', '9007199254740993.1', '9,007,199,254,740,993.1'], // beyond a float's integers: no rounding
  ['th', '0.1', '0.1'],
] as const)('%s: %s → %s', (locale, amount, shown) => expect(formatAmount(locale, amount)).toBe(shown));

test('the digits are never changed: what Intl would round, or what is not a plain decimal, is shown as sent', () => {
  for (const odd of ['1e5', '0x10', '', ' 1', '1.', '.5', 'NaN', '1.123456789012345678901', '1'.repeat(31)])
    expect(formatAmount('en', odd)).toBe(odd);
  // Every digit of every amount survives in every language.
  const digits = (s: string) => s.replace(/\D/g, '');
  for (const locale of ['en', 'ja', 'hi', 'id', 'ru', 'es', 'tr', 'zh-Hant', 'zh-CN', 'vi', 'th'] as const)
    for (const amount of ['0.00000001', '123456789.987654321', '100', '0.10'])
      expect(digits(formatAmount(locale, amount))).toBe(digits(amount));
});

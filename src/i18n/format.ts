/** Numbers in the page's locale, as Intl writes them there, with XT.COM's amounts kept digit for digit. */
import type { Locale } from './locales.js';

/** A decimal amount as XT.COM sends it: a string such as "0.00012300" or "-12.5". */
const DECIMAL = /^-?(\d{1,30})(?:\.(\d{1,20}))?$/;

const FORMATS = new Map<string, Intl.NumberFormat>();

/** The significant digits of a number's text: every ASCII digit, leading zeros left out. */
const digitsOf = (s: string): string => s.replace(/\D/g, '').replace(/^0+(?=\d)/, '');

/**
 * `amount` (a decimal string) written for `locale`: its grouping and decimal mark, with exactly the
 * decimals XT.COM sent (trailing zeros included). Intl reads the string as a decimal, never as a
 * float; should an engine round it all the same, or the amount not be a plain decimal, the amount
 * is shown as XT.COM sent it.
 */
export function formatAmount(locale: Locale, amount: string): string {
  const m = DECIMAL.exec(amount);
  if (!m) return amount;
  const decimals = m[2]?.length ?? 0;
  const key = `${locale}:${decimals}`;
  let fmt = FORMATS.get(key);
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    FORMATS.set(key, fmt);
  }
  // Intl.NumberFormat takes a decimal string as it is (ES2023); TypeScript's ES2022 types say number.
  const text = fmt.format(amount as unknown as number);
  return digitsOf(text) === digitsOf(amount) ? text : amount;
}

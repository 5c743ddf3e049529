import { safeReturnTo } from '../../src/http/returnTo.js';

describe('safeReturnTo', () => {
  test.each([
    ['/account', '/account'],
    ['/account?x=1#y', '/account?x=1#y'],
    ['/a/b/../c', '/a/c'],
  ])('keeps %j', (input, out) => expect(safeReturnTo(input)).toBe(out));

  test.each([
    undefined,
    '',
    '//evil.example',
    '/\\evil.example',
    '\\/evil.example',
    'https://evil.example',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    '%2F%2Fevil.example',
    '%252F%252Fevil.example',
    '/%2F/evil.example',
    '/%5Cevil.example',
    '/%09/evil.example',
    '/\t/evil.example',
    '/\uff0fevil.example',
    '/\u2215evil.example',
    'evil.example',
    `/${'a'.repeat(600)}`,
    '/%E0%A4%A',
  ])('refuses %j', (input) => expect(safeReturnTo(input)).toBe('/account'));
});

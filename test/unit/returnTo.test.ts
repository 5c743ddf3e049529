import encodeUrl from 'encodeurl';
import fc from 'fast-check';
import { DEFAULT_RETURN_TO, safeReturnTo } from '../../src/http/returnTo.js';

const ORIGIN = 'https://connect.example.com';
/** Where the browser is when it reads the callback's Location header. */
const CALLBACK = `${ORIGIN}/auth/xt/callback?code=c&state=s`;

describe('safeReturnTo', () => {
  test.each([
    ['/account', '/account'],
    ['/account?x=1#y', '/account?x=1#y'],
    ['/a/b/../c', '/a/c'],
    ['/search?q=%2F%2Fnot-a-host', '/search?q=%2F%2Fnot-a-host'],
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
    // Dot segments that the URL parser removes, leaving `//host` (the adversarial run's finding).
    '/.//evil.example/phish',
    '/a/..//evil.example',
    '/%2e//evil.example',
    '/%2e%2e//evil.example',
    '/.%2e//evil.example',
    '/%2E//evil.example',
    '/a/b/../..//evil.example',
    '/./%2F/evil.example',
    '/a/%252e%252e//evil.example',
    '/.\\/evil.example',
    '/x/../\\evil.example',
  ])('refuses %j', (input) => expect(safeReturnTo(input)).toBe(DEFAULT_RETURN_TO));
});

/** Fragments an attacker would combine: slashes, dots and their encodings, hosts, controls. */
const piece = fc.constantFrom(
  '/',
  '//',
  '\\',
  '.',
  '..',
  '%2e',
  '%2E',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '%252e',
  '%252f',
  '%00',
  '%09',
  '\t',
  '\n',
  ' ',
  '@',
  ':',
  '?',
  '#',
  ';',
  'evil.example',
  'a',
  'http:',
  'https://',
  '\uff0f',
  '\u2215',
  '%',
  '%%',
  '&',
  '=',
);
const attack = fc.array(piece, { minLength: 1, maxLength: 12 }).map((parts) => parts.join(''));
const anyInput = fc.oneof(
  attack,
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  attack.map((s) => `/${s}`),
);

/** What a browser does with the header, and what a second hop (a proxy re-resolving the path) does. */
function staysOnOrigin(location: string): boolean {
  const first = new URL(location, CALLBACK);
  if (first.origin !== ORIGIN) return false;
  const again = new URL(first.pathname + first.search + first.hash, CALLBACK);
  return again.origin === ORIGIN;
}

describe('safeReturnTo: properties over what is actually sent', () => {
  test('the value sent in Location always resolves on the public origin', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const out = safeReturnTo(input);
        // Express's res.redirect passes the value through encodeurl: judge what leaves the process.
        const sent = encodeUrl(out);
        expect(sent).toBe(out);
        expect(sent.startsWith('/')).toBe(true);
        expect(sent.startsWith('//') || sent.startsWith('/\\')).toBe(false);
        expect(staysOnOrigin(sent)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  test('an accepted value is already normalised (the browser changes nothing)', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const out = safeReturnTo(input);
        const url = new URL(out, CALLBACK);
        expect(url.pathname + url.search + url.hash).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });
});

/** EMBED_ORIGINS: the institution's pages, where a login may also send the person back. */
const LISTED = ['https://allowed.example', 'http://127.0.0.1:5001'];

describe('safeReturnTo with EMBED_ORIGINS: an absolute URL on exactly a listed origin', () => {
  test.each([
    ['https://allowed.example', 'https://allowed.example/'],
    ['https://allowed.example/', 'https://allowed.example/'],
    ['https://allowed.example/bank/connect?x=1#done', 'https://allowed.example/bank/connect?x=1#done'],
    ['https://allowed.example?x=1', 'https://allowed.example/?x=1'],
    ['http://127.0.0.1:5001/back', 'http://127.0.0.1:5001/back'],
    ['/account?x=1', '/account?x=1'], // a same-origin path as before
  ])('keeps %j', (input, out) => expect(safeReturnTo(input, undefined, LISTED)).toBe(out));

  test.each([
    'https://evil.example/',
    'https://allowed.example@evil.example/',
    'https://allowed.example:pw@evil.example/',
    'https://user@allowed.example/',
    'https://allowed.example.evil.example/',
    'https://allowed.example:443/',
    'https://allowed.example:8443/',
    'http://allowed.example/',
    'HTTPS://allowed.example/',
    'https://ALLOWED.example/',
    'https://allowed.example./',
    'http://127.0.0.1:50012/',
    'http://127.0.0.1:500/',
    'http://localhost:5001/',
    'https://127.0.0.1:5001/',
    '//allowed.example/',
    '///allowed.example/',
    '/\\allowed.example/',
    'https:allowed.example/',
    'https:/allowed.example/',
    'https://allowed.example\\@evil.example/',
    'https://allowed.example//evil.example/',
    'https://allowed.example/\\evil.example',
    'https://allowed.example/.//evil.example',
    'https://allowed.example/%2F%2Fevil.example',
    'https://allowed.example/%2e%2e//evil.example',
    'https://allowed.example%2F@evil.example/',
    'https://allowed.example%40evil.example/',
    'https://allowed.example/\tx',
    'https://allowed.example/\nx',
    ' https://allowed.example/',
    'https://allowed.example/ x',
    '\u0000https://allowed.example/',
    'https://allowed.example\u3002evil.example/',
    'https://allowed.example\uff0fevil.example',
    `https://allowed.example/${'a'.repeat(500)}`,
    'javascript://allowed.example/%0aalert(1)',
    'https://evil.example/https://allowed.example/',
  ])('refuses %j', (input) => expect(safeReturnTo(input, undefined, LISTED)).toBe(DEFAULT_RETURN_TO));

  test('without EMBED_ORIGINS (every other caller), an absolute URL is never taken', () => {
    expect(safeReturnTo('https://allowed.example/')).toBe(DEFAULT_RETURN_TO);
  });

  const prefix = fc.constantFrom(
    ...LISTED,
    'https://allowed.example@',
    'https://allowed.example.',
    'https://allowed.example:',
    'https://',
    'http://127.0.0.1:5001@',
    '',
  );
  const hostile = fc.oneof(
    fc.tuple(prefix, attack).map(([p, a]) => p + a),
    fc.tuple(prefix, fc.string({ maxLength: 30 })).map(([p, a]) => p + a),
    anyInput,
  );

  test('what is sent is a safe same-origin path, or a URL whose origin is exactly a listed one', () => {
    fc.assert(
      fc.property(hostile, (input) => {
        const out = safeReturnTo(input, undefined, LISTED);
        expect(encodeUrl(out)).toBe(out); // Express sends it unchanged
        expect(out.length).toBeLessThanOrEqual(512);
        if (out.startsWith('/')) {
          expect(staysOnOrigin(out)).toBe(true);
          return;
        }
        const url = new URL(out, CALLBACK);
        expect(LISTED).toContain(url.origin);
        expect(url.href).toBe(out); // already normalised: the browser changes nothing
        expect(url.username + url.password).toBe('');
        expect(out.startsWith(`${url.origin}/`)).toBe(true);
        // A second hop that re-resolves the path stays on that origin too.
        expect(new URL(url.pathname + url.search + url.hash, url.origin).origin).toBe(url.origin);
      }),
      { numRuns: 5000 },
    );
  });
});

import { decodeJwtClaims, isStale, jwtExpiry, refreshMargin, tokenExpiry } from '../../src/shared/expiry.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: unknown) => `${b64({ alg: 'RS256' })}.${b64(claims)}.sig`;
const NOW = 1_700_000_000_000;

describe('expiry arithmetic', () => {
  test('exp wins over expires_in, whatever the unit', () => {
    const t = jwt({ exp: 1_700_000_600 });
    expect(tokenExpiry(t, 15551999, 'ms', NOW)).toBe(1_700_000_600_000);
    expect(tokenExpiry(t, 15551999, 's', NOW)).toBe(1_700_000_600_000);
  });

  test('without exp, expires_in is read in the configured unit', () => {
    const t = jwt({ sub: '1' });
    expect(tokenExpiry(t, 15551999, 'ms', NOW)).toBe(NOW + 15_551_999);
    expect(tokenExpiry(t, 15551999, 's', NOW)).toBe(NOW + 15_551_999_000);
    expect(tokenExpiry(t, '3600', 's', NOW)).toBe(NOW + 3_600_000);
  });

  test('a token that is not a JWT falls back to expires_in, or unknown', () => {
    expect(tokenExpiry('opaque-token', 60, 's', NOW)).toBe(NOW + 60_000);
    expect(tokenExpiry('opaque-token', undefined, 's', NOW)).toBeUndefined();
    expect(tokenExpiry('a.b.c', -5, 's', NOW)).toBeUndefined();
  });

  test('garbage is never trusted', () => {
    expect(decodeJwtClaims('x.%%%.y')).toBeUndefined();
    expect(decodeJwtClaims(`a.${Buffer.from('[1,2]').toString('base64url')}.c`)).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: 'tomorrow' }))).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: 1e15 }))).toBeUndefined();
    expect(jwtExpiry(undefined)).toBeUndefined();
    expect(jwtExpiry('a'.repeat(20000))).toBeUndefined();
  });

  test('the margin is 60 s, or 10% of a shorter lifetime', () => {
    expect(refreshMargin(NOW, NOW + 86_400_000, 60_000)).toBe(60_000);
    expect(refreshMargin(NOW, NOW + 120_000, 60_000)).toBe(12_000);
    expect(refreshMargin(NOW, NOW - 1, 60_000)).toBe(0);
  });

  test('staleness', () => {
    const exp = NOW + 120_000;
    expect(isStale(exp, NOW, NOW, 60_000)).toBe(false);
    expect(isStale(exp, NOW, exp - 12_001, 60_000)).toBe(false);
    expect(isStale(exp, NOW, exp - 12_000, 60_000)).toBe(true);
    expect(isStale(exp, NOW, exp + 1, 60_000)).toBe(true);
    expect(isStale(undefined, NOW, NOW + 1e12, 60_000)).toBe(false);
  });
});

/** The webhook retry schedule: 5 s, then doubling with ±20 % jitter, at most 1 h apart. */
import { MAX_RETRY_MS, disabledMark, retryDelayMs } from '../../src/webhooks/delivery.js';

test('the first retry comes after 5 s, each next one twice as late, ±20 %', () => {
  expect([0, 1, 2, 3].map((n) => retryDelayMs(n, 5000, () => 0.5))).toEqual([5000, 10_000, 20_000, 40_000]);
  expect(retryDelayMs(0, 5000, () => 0)).toBe(4000);
  expect(retryDelayMs(0, 5000, () => 0.999999)).toBe(6000);
});

test('retries are at most an hour apart, jitter included, however many attempts failed', () => {
  for (const n of [10, 20, 100, 10_000]) {
    expect(retryDelayMs(n, 5000, () => 0.5)).toBe(MAX_RETRY_MS);
    expect(retryDelayMs(n, 5000, () => 0.999999)).toBe(MAX_RETRY_MS);
  }
  // Just below the cap, the jitter still spreads retries (but never past the hour).
  expect(retryDelayMs(9, 6000, () => 0)).toBe(Math.round(6000 * 512 * 0.8)); // 41 min
  expect(retryDelayMs(9, 6000, () => 0.999999)).toBe(MAX_RETRY_MS); // 61.4 min, capped
});

test('the "disabled" mark names the endpoint by a hash, never by its URL (the query may hold a token)', () => {
  const mark = disabledMark('https://hooks.example/in?token=abc');
  expect(mark).toMatch(/^webhook-disabled:[0-9a-f]{64}$/);
  expect(mark).not.toContain('token');
  expect(disabledMark('https://hooks.example/other')).not.toBe(mark);
});

/** The keeper's settings: KEEPALIVE, KEEPALIVE_WINDOW, KEEPALIVE_INTERVAL, EXPIRY_WARNING, KEEPALIVE_SHARE. */
import { type ConfigError, loadConfig } from '../../src/config/index.js';

const good = { SESSION_SECRET: 'x'.repeat(32), XT_CLIENT_ID: 'id', XT_CLIENT_SECRET: 'secret' };

test('defaults: on, 14 days ahead, every 10 minutes, warned 7 days ahead, a tenth of the XT.COM budget', () => {
  const c = loadConfig(good);
  expect(c.session.keeper).toEqual({
    enabled: true,
    windowMs: 14 * 86_400_000,
    intervalMs: 600_000,
    warningMs: 7 * 86_400_000,
  });
  expect(c.xtCalls.keeperShare).toBe(0.1);
});

test('set: durations parsed like the others; KEEPALIVE=false; a share', () => {
  const c = loadConfig({
    ...good,
    KEEPALIVE: 'false',
    KEEPALIVE_WINDOW: '30d',
    KEEPALIVE_INTERVAL: '1h',
    EXPIRY_WARNING: '3d',
    KEEPALIVE_SHARE: '0.05',
  });
  expect(c.session.keeper).toEqual({
    enabled: false,
    windowMs: 30 * 86_400_000,
    intervalMs: 3_600_000,
    warningMs: 3 * 86_400_000,
  });
  expect(c.xtCalls.keeperShare).toBe(0.05);
});

test('refused: an interval under a second, a share out of range', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...good, ...env });
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  expect(problems({ KEEPALIVE_INTERVAL: '10ms' }).join()).toContain('KEEPALIVE_INTERVAL');
  expect(problems({ KEEPALIVE_SHARE: '2' }).join()).toContain('KEEPALIVE_SHARE');
});

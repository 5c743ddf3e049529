/**
 * Floods on /auth/*: the rate limit, and who the client is behind a proxy (TRUST_PROXY), so that a
 * client cannot choose its own IP. Each test fails against a naive implementation.
 */
import request from 'supertest';
import { loadConfig } from '../../src/config/index.js';
import { type Harness, errorCode, startHarness, xtEnv } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('rate limiting on /auth/*', () => {
  test('over the limit: a 429 page; other pages are unaffected', async () => {
    h = await startHarness({ env: { AUTH_RATE_LIMIT: '5' } });
    for (let i = 0; i < 5; i++) expect((await h.agent.get('/auth/xt/login')).status).toBe(302);
    const res = await h.agent.get('/auth/xt/login');
    expect(res.status).toBe(429);
    expect(errorCode(res.text)).toBe('rate_limited');
    expect((await h.agent.get('/')).status).toBe(200);
    expect((await h.agent.get('/api/session')).status).toBe(200);
  });

  test('X-Forwarded-For is ignored unless TRUST_PROXY says so', async () => {
    h = await startHarness({ env: { AUTH_RATE_LIMIT: '3' } });
    for (let i = 0; i < 3; i++) await h.agent.get('/auth/xt/login').set('X-Forwarded-For', `10.0.0.${i}`);
    expect((await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '10.0.0.99')).status).toBe(429);
  });

  test('with TRUST_PROXY, each client behind the proxy has its own limit', async () => {
    h = await startHarness({ env: { AUTH_RATE_LIMIT: '3', TRUST_PROXY: '1' } });
    for (let i = 0; i < 3; i++) await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '203.0.113.1');
    expect((await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '203.0.113.1')).status).toBe(429);
    expect((await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '203.0.113.2')).status).toBe(302);
  });

  test('with a hop count, a client cannot choose its IP: 60 logins with forged left-most X-Forwarded-For values are limited as one', async () => {
    h = await startHarness({ env: { AUTH_RATE_LIMIT: '30', TRUST_PROXY: '1' } });
    // The one proxy appends the address it saw (203.0.113.50); everything left of it is the client's own.
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const forged = `198.51.100.${i}, 10.0.${i}.1`;
      statuses.push(
        (await request(h.built.app).get('/auth/xt/login').set('X-Forwarded-For', `${forged}, 203.0.113.50`)).status,
      );
    }
    expect(statuses.filter((s) => s === 302)).toHaveLength(30);
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
    const ips = new Set(
      h.logs
        .records()
        .filter((r) => r.audit === true)
        .map((r) => r.ip),
    );
    expect([...ips]).toEqual(['203.0.113.50']);
  });

  test('TRUST_PROXY=true in production starts only with TRUST_PROXY_ALLOW_ANY=true, and says at start what it allows', async () => {
    const prod = { NODE_ENV: 'production', PUBLIC_URL: 'https://connect.example.com', TRUST_PROXY: 'true' };
    expect(() => loadConfig(xtEnv({ url: 'http://127.0.0.1:9' }, prod))).toThrow(
      /TRUST_PROXY: true lets any client choose its IP/,
    );
    h = await startHarness({ env: { ...prod, TRUST_PROXY_ALLOW_ANY: 'true' } });
    const warning = h.logs.records().find((r) => typeof r.msg === 'string' && r.msg.startsWith('TRUST_PROXY=true'));
    expect(warning).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/any client can choose its IP.*TRUST_PROXY=1/) as string,
    });
  });
});

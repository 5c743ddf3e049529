/**
 * A TLS-only redis-server trusted through REDIS_CA_FILE, a real server started here
 * (test/helpers/redisTls.ts).
 */
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import {
  type Harness,
  LogCapture,
  TEST_SECRET,
  connectXt,
  sessionJson,
  startHarness,
  xtEnv,
} from '../helpers/harness.js';
import { type RedisTls, redisHasTls, startRedisTls } from '../helpers/redisTls.js';

describe('TLS (rediss:// with REDIS_CA_FILE)', () => {
  let tls: RedisTls | undefined;
  let xt: XtStandIn | undefined;
  let h: Harness | undefined;
  let hasTls = false;

  beforeAll(async () => {
    hasTls = await redisHasTls();
    if (hasTls) tls = await startRedisTls();
  });
  afterAll(async () => {
    await tls?.stop();
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await xt?.close();
    xt = undefined;
  });

  test('this redis-server is built with TLS', () => {
    // Debian's is; without it the tests below would prove nothing, so say so instead of skipping quietly.
    expect(hasTls).toBe(true);
  });

  test('the server certificate is checked against REDIS_CA_FILE: a login works', async () => {
    h = await startHarness({ env: { SESSION_STORE: 'redis', REDIS_URL: tls!.url, REDIS_CA_FILE: tls!.caFile } });
    expect(h.config.redis).toMatchObject({ mode: 'single', tls: true });
    expect(h.config.redis?.ca).toContain('BEGIN CERTIFICATE');
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
    expect((await request(h.built.app).get('/readyz')).status).toBe(200);
  });

  test('a certificate of another CA, or plain redis:// to the TLS port: a clear error at start', async () => {
    xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    const other = loadConfig(
      xtEnv(xt, { SESSION_STORE: 'redis', REDIS_URL: tls!.url, REDIS_CA_FILE: tls!.otherCaFile }),
    );
    await expect(createApp(other, { logDestination: new LogCapture() })).rejects.toThrow(
      /cannot connect to Redis at REDIS_URL \(.*certificate/,
    );
    const plain = loadConfig(xtEnv(xt, { SESSION_STORE: 'redis', REDIS_URL: tls!.url.replace('rediss:', 'redis:') }));
    await expect(createApp(plain, { logDestination: new LogCapture() })).rejects.toThrow(
      /cannot connect to Redis at REDIS_URL/,
    );
  });
});

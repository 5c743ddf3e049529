/**
 * Metrics (prom-client on their own listener) and the audit log (one JSON line per security
 * event), read the way an operator reads them: the scraped text and the log lines on stdout.
 */
import request from 'supertest';
import { loadConfig } from '../../src/config/index.js';
import { type Running, start } from '../../src/server.js';
import { startXtStandIn } from '../../standins/xt.js';
import {
  connectXt,
  disconnectXt,
  type Harness,
  LogCapture,
  startHarness,
  TEST_SECRET,
  xtEnv,
} from '../helpers/harness.js';
import { linkEnv } from '../helpers/link.js';

const KEY = 'ops-key-0123456789abcdef0123456789abcdef';

/** The value of one sample in a Prometheus text exposition, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[3] ?? '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w))) return Number(m[4]);
  }
  return 0;
}

const audits = (h: Harness) => h.logs.records().filter((r) => r.audit === true);

describe('metrics', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('logins, refreshes, XT.COM calls, 429s and store timings are counted; no label carries an id', async () => {
    let owner = '';
    h = await startHarness({ env: { ...linkEnv(), AUTH_RATE_LIMIT: '8' }, app: { onConnected: (o) => (owner = o) } });
    expect((await connectXt(h.agent)).status).toBe(303);
    expect((await connectXt(request.agent(h.built.app), { decision: 'deny' })).status).toBe(200); // declined: a neutral page
    expect((await h.agent.get('/api/xt/spot/v4/balances')).status).toBe(200);
    h.xt.revokeRefreshTokens();
    h.xt.revokeAccessTokens();
    expect((await h.agent.get('/api/xt/spot/v4/balances')).status).toBe(401); // refresh rejected: reconnect
    for (let i = 0; i < 6; i++) await request(h.built.app).get('/auth/xt/login');

    const text = await h.built.ctx.metrics.text();
    expect(sample(text, 'xtc_logins_total', { provider: 'xt', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'xtc_logins_total', { provider: 'xt', outcome: 'declined' })).toBe(1);
    expect(sample(text, 'xtc_refreshes_total', { provider: 'xt', outcome: 'rejected' })).toBe(1);
    expect(sample(text, 'xtc_xt_api_requests_total', { outcome: 'ok', mc: 'none' })).toBe(1);
    expect(sample(text, 'xtc_xt_api_requests_total', { outcome: 'token_rejected', mc: 'none' })).toBe(1);
    expect(sample(text, 'xtc_rate_limited_total', { scope: 'auth' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'xtc_provider_request_duration_seconds_count', { provider: 'xt', operation: 'exchange' })).toBe(
      1,
    );
    expect(sample(text, 'xtc_provider_request_duration_seconds_count', { provider: 'xt', operation: 'api' })).toBe(2);
    expect(
      sample(text, 'xtc_store_operation_duration_seconds_count', { store: 'memory', operation: 'putConnection' }),
    ).toBe(1);
    expect(sample(text, 'xtc_sessions_connected', { provider: 'xt' })).toBe(1); // the tombstone of the ended one
    for (const secret of [owner, '12345678', ...h.xt.issued()]) expect(text).not.toContain(secret);
  });

  test('are served on METRICS_PORT only, never on the public port', async () => {
    const xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    const logs = new LogCapture();
    let running: Running | undefined;
    try {
      const config = loadConfig(
        xtEnv(xt, { PORT: '0', METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SHUTDOWN_DRAIN: '0' }),
      );
      running = await start(config, '127.0.0.1', { logDestination: logs });
      const scraped = await fetch(`${running.metricsUrl!}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await scraped.text();
      expect(text).toContain('# TYPE xtc_logins_total counter');
      expect(text).toContain('process_cpu_user_seconds_total'); // prom-client's process metrics
      expect((await fetch(`${running.metricsUrl!}/`)).status).toBe(404);
      expect((await fetch(`${running.url}/metrics`)).status).toBe(404);
    } finally {
      await running?.stop();
      await xt.close();
    }
  });
});

describe('readiness', () => {
  test('the public port says ready or not_ready only; the store, the webhook backlog and why not are on the metrics port', async () => {
    const xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    const logs = new LogCapture();
    const hooks = {
      WEBHOOK_URL: 'http://127.0.0.1:9/hooks',
      WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 3).toString('base64')}`,
    };
    let running: Running | undefined;
    try {
      const env = { PORT: '0', METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', SHUTDOWN_DRAIN: '1s', ...hooks };
      running = await start(loadConfig(xtEnv(xt, env)), '127.0.0.1', { logDestination: logs });
      const answer = async (url: string) => {
        const res = await fetch(`${url}/readyz`);
        return { status: res.status, cache: res.headers.get('cache-control'), body: (await res.json()) as unknown };
      };
      expect(await answer(running.url)).toEqual({ status: 200, cache: 'no-store', body: { status: 'ready' } });
      expect(await answer(running.metricsUrl!)).toEqual({
        status: 200,
        cache: 'no-store',
        body: { status: 'ready', store: 'memory', webhooks: { pending: 0, oldestAgeSeconds: 0, disabled: false } },
      });
      const stopped = running.stop(); // draining for SHUTDOWN_DRAIN: both say not ready, only the metrics port says why
      expect(await answer(running.url)).toEqual({ status: 503, cache: 'no-store', body: { status: 'not_ready' } });
      expect(await answer(running.metricsUrl!)).toEqual({
        status: 503,
        cache: 'no-store',
        body: { status: 'draining', store: 'memory' },
      });
      await stopped;
      running = undefined;
    } finally {
      await running?.stop();
      await xt.close();
    }
  });
});

describe('the audit log', () => {
  let h: Harness;
  afterEach(() => h.close());

  test('one line per security event, with the request id, the client IP and a hash of the owner; never the owner or a token', async () => {
    let owner = '';
    h = await startHarness({
      env: { ...linkEnv(), SERVICE_API_KEYS: `ops:${KEY}`, AUTH_RATE_LIMIT: '6', TRUST_PROXY: '1' },
      app: { onConnected: (o) => (owner = o) },
    });
    const cb = await connectXt(h.agent);
    expect(cb.status).toBe(303);
    await h.agent.post('/auth/xt/logout').type('form').send({ _csrf: 'forged' }); // csrf_refused
    await disconnectXt(h.agent); // disconnected
    await h.agent.get('/auth/xt/login?link=garbage').set('X-Forwarded-For', '203.0.113.9'); // link_refused
    await request(h.built.app).get('/v1/subjects/u-1/connections').set('Authorization', `Bearer ${KEY}`);
    for (let i = 0; i < 8; i++) await request(h.built.app).get('/auth/xt/login').set('X-Forwarded-For', '198.51.100.7');

    const lines = audits(h);
    const events = lines.map((l) => l.event);
    for (const e of [
      'login_started',
      'login_succeeded',
      'csrf_refused',
      'disconnected',
      'link_refused',
      'service_call',
      'rate_limited',
    ]) {
      expect(events).toContain(e);
    }
    for (const l of lines) {
      expect(typeof l.reqId).toBe('string');
      expect(typeof l.ip).toBe('string');
    }
    // The forged logout names the provider its route is for.
    expect(lines.find((l) => l.event === 'csrf_refused')).toMatchObject({ provider: 'xt', reason: 'bad form token' });
    const succeeded = lines.find((l) => l.event === 'login_succeeded')!;
    expect(succeeded).toMatchObject({ provider: 'xt', owner: expect.stringMatching(/^[\w-]{22}$/) as string });
    expect(lines.find((l) => l.event === 'link_refused')).toMatchObject({
      ip: '203.0.113.9',
      reason: expect.any(String) as string,
    });
    expect(lines.find((l) => l.event === 'rate_limited')).toMatchObject({ ip: '198.51.100.7', reason: 'auth' });
    expect(lines.find((l) => l.event === 'service_call')).toMatchObject({
      serviceKey: 'ops',
      route: 'subject_connections',
      status: 200,
      method: 'GET',
    });
    const text = JSON.stringify(lines);
    expect(text).not.toContain(owner);
    expect(text).not.toContain('u-1');
    expect(text).not.toContain(KEY);
  });

  test('a client IP that is no address (a forged X-Forwarded-For) is written as "invalid"', async () => {
    h = await startHarness({ env: { TRUST_PROXY: '1', AUTH_RATE_LIMIT: '1' } });
    await request(h.built.app).get('/auth/xt/login').set('X-Forwarded-For', 'garbage<>x;y');
    await request(h.built.app).get('/auth/xt/login').set('X-Forwarded-For', 'garbage<>x;y');
    const limited = audits(h).find((l) => l.event === 'rate_limited');
    expect(limited).toMatchObject({ ip: 'invalid' });
    expect(h.logs.text()).not.toContain('garbage<>');
  });

  test('refresh_rejected and login_failed, with their reasons', async () => {
    h = await startHarness();
    expect((await connectXt(h.agent)).status).toBe(303);
    h.xt.revokeRefreshTokens();
    h.xt.revokeAccessTokens();
    await h.agent.get('/api/xt/spot/v4/balances');
    expect((await connectXt(request.agent(h.built.app), { decision: 'deny' })).status).toBe(200); // declined: a neutral page
    const lines = audits(h);
    expect(lines.find((l) => l.event === 'refresh_rejected')).toMatchObject({ provider: 'xt' });
    expect(lines.find((l) => l.event === 'login_failed')).toMatchObject({ provider: 'xt', reason: 'login_denied' });
  });

  test('is written at LOG_LEVEL=warn too', async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'warn' } });
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(audits(h).map((l) => l.event)).toEqual(['login_started', 'login_succeeded']);
    expect(h.logs.records().filter((r) => r.level === 30 && r.audit !== true)).toEqual([]);
  });
});

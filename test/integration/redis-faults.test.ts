/**
 * Redis faults against the app on a real loopback port (so keep-alive is real) and our own
 * redis-server: a server that stops answering (SIGSTOP), an outage under keep-alive traffic,
 * and a session read that fails while a delete would succeed.
 */
import { jest } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient } from 'redis';
import request from 'supertest';
import { loadConfig } from '../../src/config/index.js';
import { type Harness, connectXt, errorCode, sidCookie, startHarness, xtEnv } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Reply {
  path: string;
  status: number; // 0: no HTTP answer (see error)
  ms: number;
  retryAfter?: string;
  body: string;
  error?: string;
}

/** One GET against the listening app; never rejects: a socket error is a Reply with status 0. */
function get(
  port: number,
  path: string,
  opts: { cookie?: string; agent?: http.Agent; limitMs?: number } = {},
): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: opts.agent ?? false,
        headers: opts.cookie ? { Cookie: opts.cookie } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          resolve({
            path,
            status: res.statusCode ?? 0,
            ms: performance.now() - started,
            retryAfter: typeof ra === 'string' ? ra : undefined,
            body,
          });
        });
        res.on('error', (err: NodeJS.ErrnoException) =>
          resolve({ path, status: 0, ms: performance.now() - started, body, error: err.code ?? err.message }),
        );
      },
    );
    req.setTimeout(opts.limitMs ?? 20_000, () =>
      req.destroy(Object.assign(new Error('client gave up'), { code: 'CLIENT_TIMEOUT' })),
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ path, status: 0, ms: performance.now() - started, body: '', error: err.code ?? err.message }),
    );
  });
}

/**
 * The app runs in this process, so it cannot answer sooner than this process's event loop runs:
 * on a loaded CI machine a stall of the whole process adds to every reply. `stalls()` returns the
 * longest event-loop delay seen since the monitor started (ms), which a deadline may add as slack;
 * a reply that is late for any other reason (a timeout that does not fire) still fails.
 */
function loopStalls(): { stop: () => number } {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    stop: () => {
      h.disable();
      return h.max / 1e6;
    },
  };
}

describe('Redis faults', () => {
  let redis: RedisServer;
  const open: { h: Harness; server: http.Server }[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    redis.resume();
    for (const { h, server } of open.splice(0)) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await h.close();
    }
  });

  /** The app with SESSION_STORE=redis, listening on 127.0.0.1:0. */
  async function app(env: Record<string, string> = {}) {
    const h = await startHarness({ env: { SESSION_STORE: 'redis', REDIS_URL: redis.url, ...env } });
    const server = http.createServer(h.built.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ h, server });
    return { h, port: (server.address() as AddressInfo).port };
  }

  async function connectedSession(h: Harness): Promise<string> {
    const cookie = sidCookie(await connectXt(request.agent(h.built.app)));
    const state = await request(h.built.app).get('/api/session').set('Cookie', cookie);
    expect(state.body).toMatchObject({ connected: true, userId: '12345678' });
    return cookie;
  }

  async function waitReady(port: number): Promise<number> {
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await get(port, '/readyz', { limitMs: 3000 })).status;
      if (status !== 200) await sleep(100);
    }
    return status;
  }

  test('REDIS_COMMAND_TIMEOUT: 1s by default, durations accepted, nonsense refused', () => {
    // The timeout is part of config.redis, there once Redis is set.
    const BASE_ENV = { ...xtEnv({ url: 'http://127.0.0.1:1' }), REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(loadConfig({ ...BASE_ENV }).redis?.commandTimeoutMs).toBe(1000);
    expect(loadConfig({ ...BASE_ENV, REDIS_COMMAND_TIMEOUT: '250ms' }).redis?.commandTimeoutMs).toBe(250);
    expect(loadConfig({ ...BASE_ENV, REDIS_COMMAND_TIMEOUT: '2s' }).redis?.commandTimeoutMs).toBe(2000);
    expect(() => loadConfig({ ...BASE_ENV, REDIS_COMMAND_TIMEOUT: 'soon' })).toThrow(/REDIS_COMMAND_TIMEOUT/);
    expect(() => loadConfig({ ...BASE_ENV, REDIS_COMMAND_TIMEOUT: '0' })).toThrow(/REDIS_COMMAND_TIMEOUT/);
  });

  test('at the default REDIS_COMMAND_TIMEOUT (1 s), /readyz still answers 503 within a second while Redis is paused', async () => {
    const { port } = await app({});
    const loop = loopStalls();
    redis.pause();
    try {
      const probes = [await get(port, '/readyz'), await get(port, '/readyz')];
      const limit = 1000 + loop.stop();
      expect(probes.map((p) => ({ status: p.status, inTime: p.ms < limit || `${p.ms} ms ≥ ${limit} ms` }))).toEqual([
        { status: 503, inTime: true },
        { status: 503, inTime: true },
      ]);
    } finally {
      redis.resume();
    }
    expect(await waitReady(port)).toBe(200);
  });

  test('Redis paused (SIGSTOP): pages, /api and /readyz answer 503 with Retry-After within REDIS_COMMAND_TIMEOUT + 0.5 s; after SIGCONT the client reconnects and the session is intact', async () => {
    // The deadline is set low here so the pause can be short; the default (1 s) is checked above.
    const COMMAND_TIMEOUT_MS = 300;
    const { h, port } = await app({ REDIS_COMMAND_TIMEOUT: `${COMMAND_TIMEOUT_MS}ms` });
    const cookie = await connectedSession(h);
    const agent = new http.Agent({ keepAlive: true });
    // Longer than the silence after which the connection is replaced: the ping interval
    // (max(1 s, 2 × 300 ms)) plus 3 × 300 ms, 1.9 s, counted from the last command written.
    const PAUSE_MS = 4000;
    const loop = loopStalls();
    redis.pause();
    const resumed = sleep(PAUSE_MS).then(() => redis.resume());
    const replies: Reply[] = [];
    try {
      // At once, before anything has timed out, then one by one.
      replies.push(
        ...(await Promise.all([
          get(port, '/api/session', { cookie, agent }),
          get(port, '/account', { cookie, agent }),
          get(port, '/readyz', { agent }),
        ])),
      );
      for (let i = 0; i < 3; i++) {
        replies.push(await get(port, '/api/session', { cookie, agent }));
        replies.push(await get(port, '/readyz', { agent }));
      }
    } finally {
      await resumed;
    }
    const stalled = loop.stop();
    const deadline = COMMAND_TIMEOUT_MS + 500 + stalled;
    const figures = replies.map((r) => `${r.path} ${r.status || r.error} ${(r.ms / 1000).toFixed(2)}s`).join('; ');
    // On failure the message shows each late reply's time against the deadline and the stall.
    const withinDeadline = (r: Reply) =>
      r.ms <= deadline ||
      `${r.ms.toFixed(0)} ms > ${deadline.toFixed(0)} ms (event loop stalled ${stalled.toFixed(0)} ms)`;
    expect({
      figures,
      replies: replies.map((r) => ({
        path: r.path,
        status: r.status,
        retryAfter: r.retryAfter,
        withinDeadline: withinDeadline(r),
      })),
    }).toEqual({
      figures,
      replies: replies.map((r) => ({
        path: r.path,
        status: 503,
        retryAfter: expect.stringMatching(/^\d+$/) as unknown,
        withinDeadline: true,
      })),
    });
    expect((JSON.parse(replies[0]!.body) as { error: { code: string } }).error.code).toBe('store_unavailable');
    expect(errorCode(replies[1]!.body)).toBe('store_unavailable');

    expect(await waitReady(port)).toBe(200);
    const back = await get(port, '/api/session', { cookie, agent });
    expect(back.status).toBe(200);
    expect(JSON.parse(back.body)).toMatchObject({ connected: true, userId: '12345678' });
    // The silent connection was given up and a new one made (at start, then after the pause).
    expect(h.logs.lines.filter((l) => l.includes('redis connected')).length).toBeGreaterThanOrEqual(2);
    agent.destroy();
  });

  test('keep-alive clients through a Redis outage get only 200s and 503s (no reset, nothing on stderr), and every session is intact afterwards', async () => {
    const { h, port } = await app();
    h.built.app.set('env', 'production'); // as deployed: Express's final handler would print to stderr
    const SESSIONS = 5;
    const cookies: string[] = [];
    for (let i = 0; i < SESSIONS; i++) cookies.push(await connectedSession(h));

    const stderr: string[] = [];
    const writeSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    const consoleSpy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      stderr.push(args.map(String).join(' '));
    });

    let running = true;
    const replies: Reply[] = [];
    const MAX_PER_CLIENT = 1500;
    const clients = cookies.map(async (cookie, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let n = 0; running && n < MAX_PER_CLIENT; n++) {
        replies.push(await get(port, n % 4 === 3 ? '/account' : '/api/session', { cookie, agent, limitMs: 5000 }));
        if (i % 2) await sleep(1); // some clients leave a gap, some do not
      }
      agent.destroy();
    });
    try {
      await sleep(300);
      await redis.stop();
      await sleep(1000);
    } finally {
      await redis.start();
    }
    const ready = await waitReady(port);
    await sleep(300);
    running = false;
    await Promise.all(clients);
    writeSpy.mockRestore();
    consoleSpy.mockRestore();

    const count = (pred: (r: Reply) => boolean) => replies.filter(pred).length;
    const figures = {
      total: replies.length,
      ok: count((r) => r.status === 200),
      unavailable: count((r) => r.status === 503),
      socketErrors: count((r) => r.status === 0),
      errorKinds: [...new Set(replies.filter((r) => r.status === 0).map((r) => r.error))],
      other: count((r) => r.status !== 0 && r.status !== 200 && r.status !== 503),
      unavailableWithoutRetryAfter: count((r) => r.status === 503 && !r.retryAfter),
      stderrWrites: stderr.length,
    };
    expect(ready).toBe(200);
    expect(figures).toEqual({
      ...figures,
      socketErrors: 0,
      errorKinds: [],
      other: 0,
      unavailableWithoutRetryAfter: 0,
      stderrWrites: 0,
    });
    expect(figures.unavailable).toBeGreaterThan(0);
    expect(figures.ok).toBeGreaterThan(0);

    // Every session is still there and still connected.
    for (const cookie of cookies) {
      const res = await get(port, '/api/session', { cookie });
      expect({ status: res.status, body: JSON.parse(res.body) as unknown }).toMatchObject({
        status: 200,
        body: { connected: true, userId: '12345678' },
      });
    }
  });

  test('a session read that fails never deletes the session (GET refused by Redis, DEL allowed)', async () => {
    const { h, port } = await app();
    const cookie = await connectedSession(h);
    const admin = createClient({ url: redis.url });
    await admin.connect();
    const sessionKeys = async () => (await admin.keys('xtc:sess:*')).length;
    const before = await sessionKeys();
    await admin.sendCommand(['ACL', 'SETUSER', 'default', '-get']);
    let failed: Reply[];
    try {
      failed = [await get(port, '/api/session', { cookie }), await get(port, '/account', { cookie })];
    } finally {
      await admin.sendCommand(['ACL', 'SETUSER', 'default', '+get']);
    }
    const after = await sessionKeys();
    await admin.close();
    expect(failed.map((r) => [r.status, r.retryAfter])).toEqual([
      [503, expect.stringMatching(/^\d+$/)],
      [503, expect.stringMatching(/^\d+$/)],
    ]);
    expect({ before, after }).toEqual({ before, after: before });
    const back = await get(port, '/api/session', { cookie });
    expect(JSON.parse(back.body)).toMatchObject({ connected: true, userId: '12345678' });
  });
});

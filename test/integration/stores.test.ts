/**
 * Session storage against real stores: a SQLite file in a temporary folder and our own
 * redis-server. Restarts, key rotation, corrupt records, raw dumps, two app instances, outages.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import request from 'supertest';
import { type AppOptions, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createSqliteStores, sweepExpired } from '../../src/store/sqlite/index.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { type TestClock, testClock } from '../helpers/clock.js';
import {
  type Harness,
  LogCapture,
  TEST_SECRET,
  assertNoSecrets,
  connectXt,
  errorCode,
  sidCookie,
  startHarness,
  tempDir,
  xtEnv,
  sessionJson,
} from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const key = (n: number) => Buffer.alloc(32, n).toString('base64');

describe('SQLite (the default)', () => {
  let xt: XtStandIn;
  let dir: string;
  const harnesses: Harness[] = [];
  /** Stops an app (its close() scans its logs); the next open() starts another on the same file. */
  const restart = (h: Harness) => h.close();
  const open = async (env: Record<string, string> = {}, app: AppOptions = {}) => {
    const h = await startHarness({ standIn: xt, env: { SESSION_STORE: 'sqlite', DATA_DIR: dir, ...env }, app });
    harnesses.push(h);
    return h;
  };

  beforeEach(async () => {
    xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    dir = tempDir();
  });
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close(); // a no-op for those restart() closed
    await xt.close();
  });

  test('a session survives an app restart', async () => {
    const a = await open();
    const cookie = sidCookie(await connectXt(a.agent));
    await restart(a);
    const b = await open();
    const res = await request(b.built.app).get('/api/session').set('Cookie', cookie);
    expect(res.body).toMatchObject({ connected: true, userId: '12345678' });
  });

  test('a raw dump of the database holds no token, code or state', async () => {
    const a = await open();
    await connectXt(a.agent);
    await a.agent.get('/auth/xt/login'); // a pending transaction too
    const db = new Database(path.join(dir, 'xt-connect.sqlite'), { readonly: true });
    const dump = ['sessions', 'connections', 'login_tx']
      .map((t) => JSON.stringify(db.prepare(`SELECT * FROM ${t}`).all()))
      .join('\n');
    db.close();
    expect(dump).toContain('v1.'); // sealed records are there…
    assertNoSecrets(dump, xt.issued()); // …but no token or code in the clear
    expect(dump).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  test('rotating the encryption key keeps everyone connected; removing the old key disconnects cleanly', async () => {
    const a = await open({ TOKEN_ENCRYPTION_KEYS: key(1) });
    const cookie = sidCookie(await connectXt(a.agent));
    await restart(a);
    const b = await open({ TOKEN_ENCRYPTION_KEYS: `${key(2)},${key(1)}` });
    expect(sessionJson(await request(b.built.app).get('/api/session').set('Cookie', cookie)).connected).toBe(true);
    await restart(b);
    const c = await open({ TOKEN_ENCRYPTION_KEYS: key(2) });
    const res = await request(c.built.app).get('/api/session').set('Cookie', cookie);
    expect(res.status).toBe(200);
    // The session record is sealed with the same keys (sealedSessions.ts): under the removed key it
    // does not open, so this is a fresh session, offered to connect again.
    expect(res.body).toMatchObject({ connected: false, reason: 'not_connected' });
    const account = await request(c.built.app).get('/account').set('Cookie', cookie);
    expect(account.status).toBe(200);
    expect(account.text).toContain('Connect XT.COM');
  });

  test('a tampered record counts as not connected, never a 500', async () => {
    const a = await open();
    const cookie = sidCookie(await connectXt(a.agent));
    const db = new Database(path.join(dir, 'xt-connect.sqlite'));
    const row = db.prepare('SELECT owner, data FROM connections').get() as { owner: string; data: string };
    const parts = row.data.split('.');
    parts[3] = `${parts[3]!.slice(0, -4)}AAAA`;
    db.prepare('UPDATE connections SET data = ? WHERE owner = ?').run(parts.join('.'), row.owner);
    db.close();
    for (const p of ['/api/session', '/account', '/']) {
      const res = await request(a.built.app).get(p).set('Cookie', cookie);
      expect(res.status).toBe(200);
    }
    expect(sessionJson(await request(a.built.app).get('/api/session').set('Cookie', cookie)).connected).toBe(false);
  });

  test('a corrupt session row is treated as no session', async () => {
    const a = await open();
    const cookie = sidCookie(await connectXt(a.agent));
    const db = new Database(path.join(dir, 'xt-connect.sqlite'));
    db.prepare("UPDATE sessions SET data = '{not json'").run();
    db.close();
    const res = await request(a.built.app).get('/api/session').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(sessionJson(res).connected).toBe(false);
  });

  test('an unusable DATA_DIR stops the app at start with a clear error', async () => {
    const file = path.join(dir, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const config = loadConfig(xtEnv(xt, { SESSION_STORE: 'sqlite', DATA_DIR: path.join(file, 'data') }));
    await expect(createApp(config, { logDestination: new LogCapture() })).rejects.toThrow(
      /DATA_DIR .* is not writable/,
    );
  });

  test('DATA_DIR is created 0700 and the database, its WAL and shared-memory files 0600; a file an older version left 0644 is tightened', async () => {
    const data = path.join(dir, 'nested', 'data');
    const mode = (f: string) => (fs.statSync(path.join(data, f)).mode & 0o777).toString(8);
    const files = ['xt-connect.sqlite', 'xt-connect.sqlite-wal', 'xt-connect.sqlite-shm'];
    const a = await open({ DATA_DIR: data });
    expect((await connectXt(a.agent)).status).toBe(303);
    expect(mode('.')).toBe('700');
    expect(files.map((f) => [f, mode(f)])).toEqual(files.map((f) => [f, '600']));
    await restart(a);

    for (const f of files.filter((f) => fs.existsSync(path.join(data, f)))) fs.chmodSync(path.join(data, f), 0o644);
    const b = await open({ DATA_DIR: data });
    expect((await connectXt(b.agent)).status).toBe(303);
    expect(files.map((f) => [f, mode(f)])).toEqual(files.map((f) => [f, '600']));
  });

  test('a full database answers 503 and loses nothing already stored', async () => {
    // The app runs on stores the test built (AppOptions.stores), so the test holds the app's own SQLite connection.
    const stores = createSqliteStores({ dataDir: dir, ttlMs: 86_400_000 });
    const a = await open({}, { stores });
    const cookie = sidCookie(await connectXt(a.agent));
    const db = stores.db;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    // Fill the last free pages, then ask for more: new logins cannot be stored.
    let status = 0;
    for (let i = 0; i < 200 && status !== 503; i++) {
      status = (await request(a.built.app).get('/auth/xt/login')).status;
    }
    expect(status).toBe(503);
    const page = await request(a.built.app).get('/auth/xt/login');
    expect(errorCode(page.text)).toBe('store_unavailable');
    // The existing connection is intact.
    db.pragma('max_page_count = 1073741823');
    expect(sessionJson(await request(a.built.app).get('/api/session').set('Cookie', cookie)).connected).toBe(true);
  });

  test('expired rows are swept and the file gives the space back', async () => {
    const stores = createSqliteStores({ dataDir: dir, ttlMs: 1000 });
    const setSession = (sid: string, expires: number) =>
      new Promise<void>((r) =>
        stores.sessions.set(sid, { cookie: { expires: new Date(expires), originalMaxAge: 1000 } }, () => r()),
      );
    const pad = 'x'.repeat(2000);
    for (let i = 0; i < 2000; i++) await stores.authState.putConnection(`o${i}`, 'xt', pad, 1);
    for (let i = 0; i < 500; i++) await setSession(`s${i}`, Date.now() - 1);
    await setSession('alive', Date.now() + 60_000);
    const before =
      fs.statSync(path.join(dir, 'xt-connect.sqlite')).size + fs.statSync(path.join(dir, 'xt-connect.sqlite-wal')).size;
    await new Promise((r) => setTimeout(r, 5));
    const removed = sweepExpired(stores.db, Date.now());
    stores.db.pragma('wal_checkpoint(TRUNCATE)');
    const after = fs.statSync(path.join(dir, 'xt-connect.sqlite')).size;
    expect(removed).toBe(2500);
    expect(after).toBeLessThan(before / 4);
    const alive = await new Promise((r) => stores.sessions.get('alive', (_e, s) => r(s)));
    expect(alive).toBeTruthy();
    await stores.close();
  });
});

describe('Redis (several replicas)', () => {
  let redis: RedisServer;
  let xt: XtStandIn | undefined;
  const harnesses: Harness[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close(); // each scans its own logs
    await xt?.close();
    xt = undefined;
  });

  /** One replica: an app on the shared stand-in and Redis. */
  async function instance(clock: TestClock, env: Record<string, string> = {}) {
    if (!xt) throw new Error('start the stand-in first');
    const h = await startHarness({
      standIn: xt,
      env: { SESSION_STORE: 'redis', REDIS_URL: redis.url, ...env },
      app: { now: clock.now },
    });
    harnesses.push(h);
    return { app: h.built.app, logs: h.logs, ctx: h.built.ctx };
  }

  test('a person who logs in through A is connected on B, and the session TTL matches the cookie', async () => {
    const clock = testClock();
    xt = await startXtStandIn({ clientSecret: TEST_SECRET, now: clock.now });
    const A = await instance(clock, { SESSION_IDLE_TTL: '2d' });
    const B = await instance(clock, { SESSION_IDLE_TTL: '2d' });
    const agentA = request.agent(A.app);
    const cookie = sidCookie(await connectXt(agentA));
    const res = await request(B.app).get('/api/session').set('Cookie', cookie);
    expect(res.body).toMatchObject({ connected: true, userId: '12345678' });

    const client = createClient({ url: redis.url });
    await client.connect();
    const sid = decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
    const ttl = await client.pTTL(`xtc:sess:${sid}`);
    expect(Math.abs(ttl - 2 * 86_400_000)).toBeLessThan(60_000);
    await client.close();
  });

  test('concurrent requests needing a refresh, half to A and half to B, make exactly one refresh call', async () => {
    const clock = testClock();
    xt = await startXtStandIn({ clientSecret: TEST_SECRET, now: clock.now, accessTtlSec: 600, tokenDelayMs: 300 });
    const A = await instance(clock);
    const B = await instance(clock);
    const cookie = sidCookie(await connectXt(request.agent(A.app)));
    clock.advance(601_000);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(i % 2 ? A.app : B.app)
          .get('/api/session')
          .set('Cookie', cookie),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(results.every((r) => sessionJson(r).connected)).toBe(true);
    expect(xt.calls.refresh_token).toBe(1);
  });

  test('a raw dump of Redis holds no token', async () => {
    const clock = testClock();
    xt = await startXtStandIn({ clientSecret: TEST_SECRET, now: clock.now });
    const A = await instance(clock);
    const agent = request.agent(A.app);
    await connectXt(agent);
    await agent.get('/auth/xt/login');
    const client = createClient({ url: redis.url });
    await client.connect();
    let dump = '';
    for (const k of await client.keys('xtc:*')) {
      const type = await client.type(k);
      const value =
        type === 'hash'
          ? JSON.stringify(await client.hGetAll(k))
          : type === 'zset'
            ? JSON.stringify(await client.zRange(k, 0, -1)) // the list's index: record keys only
            : await client.get(k);
      dump += `${k} ${value}\n`;
    }
    await client.close();
    expect(dump).toContain('xtc:conn:');
    assertNoSecrets(dump, xt.issued());
  });

  test('Redis down: 503 for session pages and /api, /healthz 200, /readyz 503; back up: sessions are there', async () => {
    const clock = testClock();
    xt = await startXtStandIn({ clientSecret: TEST_SECRET, now: clock.now });
    const A = await instance(clock);
    const cookie = sidCookie(await connectXt(request.agent(A.app)));
    await redis.stop();
    try {
      const api = await request(A.app).get('/api/session').set('Cookie', cookie);
      expect(api.status).toBe(503);
      expect(sessionJson(api).error?.code).toBe('store_unavailable');
      const page = await request(A.app).get('/account').set('Cookie', cookie);
      expect(page.status).toBe(503);
      expect(errorCode(page.text)).toBe('store_unavailable');
      expect(page.text).toMatch(/class="button primary" href="[^"]+"/); // a way to try again
      expect((await request(A.app).get('/healthz')).status).toBe(200);
      expect((await request(A.app).get('/readyz')).status).toBe(503);
      expect((await request(A.app).get('/auth/xt/login')).status).toBe(503);
    } finally {
      await redis.start();
    }
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = (await request(A.app).get('/readyz')).status;
    }
    expect(ready).toBe(200);
    const back = await request(A.app).get('/api/session').set('Cookie', cookie);
    expect(back.body).toMatchObject({ connected: true });
  });

  test('Redis unreachable at start: a clear error', async () => {
    xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    const config = loadConfig(xtEnv(xt, { SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1' }));
    await expect(createApp(config, { logDestination: new LogCapture() })).rejects.toThrow(/cannot connect to Redis/);
  });
});

describe('memory', () => {
  test('warns at start that sessions are lost on restart', async () => {
    const h = await startHarness();
    expect(h.logs.text()).toContain('SESSION_STORE=memory');
    await h.close();
  });
});

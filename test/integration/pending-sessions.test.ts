/**
 * A session that holds nothing but pending logins lives as long as they do (10 minutes), not
 * SESSION_IDLE_TTL: a cookie-less GET /auth/xt/login costs the store 10 minutes of one record, not
 * 14 days. It gets the full lifetime once it holds something that must last (here: the completed
 * login's connection). Checked in what the stores actually keep: SQLite's expires column, Redis's
 * key TTL.
 */
import { createClient } from 'redis';
import request from 'supertest';
import { TRANSACTION_TTL_MS } from '../../src/auth/transaction.js';
import {
  authorizeAtStandIn,
  connectXt,
  errorCode,
  type Harness,
  sessionJson,
  sidCookie,
  startHarness,
  tempDir,
} from '../helpers/harness.js';
import { sqliteRows } from '../helpers/sqlite.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const DAY = 86_400_000;
const IDLE_MS = 14 * DAY; // SESSION_IDLE_TTL's default
let h: Harness;
let dataDir: string;
afterEach(() => h?.close());

const rows = <T>(sql: string, ...args: unknown[]): T[] => sqliteRows<T>(dataDir, sql, ...args);
const sidOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
/** How long from now the SQLite row of `sid` lives (ms). */
const storedFor = (sid: string) =>
  rows<{ expires: number }>('SELECT expires FROM sessions WHERE sid = ?', sid)[0]!.expires - Date.now();
/** The cookie's lifetime as sent (express-session sends Expires), in ms from now. */
const cookieFor = (res: { headers: Record<string, unknown> }) => {
  const line = ([] as string[])
    .concat((res.headers['set-cookie'] as string[]) ?? [])
    .find((c) => c.startsWith('xtc.sid='));
  return Date.parse(/Expires=([^;]+)/.exec(line ?? '')?.[1] ?? '') - Date.now();
};
/** At most the transactions' lifetime, and not already over. */
const asPending = (ms: number) => {
  expect(ms).toBeGreaterThan(0);
  expect(ms).toBeLessThanOrEqual(TRANSACTION_TTL_MS);
};
/** SESSION_IDLE_TTL, give or take a minute for the test's own steps. */
const asLasting = (ms: number) => expect(Math.abs(ms - IDLE_MS)).toBeLessThan(60_000);

describe('SQLite', () => {
  beforeEach(async () => {
    dataDir = tempDir();
    h = await startHarness({ env: { SESSION_STORE: 'sqlite', DATA_DIR: dataDir } });
  });

  test('a cookie-less login start is stored for its transaction only; the completed login gets the full idle TTL', async () => {
    const login = await h.agent.get('/auth/xt/login');
    expect(login.status).toBe(302);
    const sid = sidOf(sidCookie(login));
    asPending(storedFor(sid));
    asPending(cookieFor(login)); // the cookie says the same
    // Another page in the meantime does not stretch it (a touch moves the expiry only to the logins' end).
    expect((await h.agent.get('/')).status).toBe(200);
    asPending(storedFor(sid));
    // Completed: a new session id, stored for SESSION_IDLE_TTL.
    const cb = await h.agent.get(await authorizeAtStandIn(login.headers.location!));
    expect(cb.status).toBe(303);
    asLasting(storedFor(sidOf(sidCookie(cb))));
    asLasting(cookieFor(cb));
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('many cookie-less login starts: every stored session expires with its login', async () => {
    for (let i = 0; i < 20; i++) expect((await request(h.built.app).get('/auth/xt/login')).status).toBe(302);
    const left = rows<{ expires: number }>('SELECT expires FROM sessions').map((r) => r.expires - Date.now());
    expect(left).toHaveLength(20);
    for (const ms of left) asPending(ms);
  });

  test('a connected session that starts another login keeps its full lifetime (and its connection)', async () => {
    const cb = await connectXt(h.agent);
    const again = await h.agent.get('/auth/xt/login');
    expect(again.status).toBe(302);
    asLasting(storedFor(sidOf(sidCookie(cb))));
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('a login abandoned past its lifetime: the person comes back to a clean, fresh start, never an error', async () => {
    const login = await h.agent.get('/auth/xt/login');
    const callback = await authorizeAtStandIn(login.headers.location!);
    const sid = sidOf(sidCookie(login));
    rows('UPDATE sessions SET expires = ? WHERE sid = ? RETURNING sid', Date.now() - 1000, sid); // 10 minutes later
    const home = await h.agent.get('/');
    expect(home.status).toBe(200);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(false);
    // The old approval comes back: the page that says the login expired, with its way forward.
    const late = await h.agent.get(callback);
    expect(errorCode(late.text)).toBe('login_expired');
    // Connect again: works from scratch.
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test("a pending session the store still holds past its logins' end starts over, empty", async () => {
    const login = await h.agent.get('/auth/xt/login');
    const sid = sidOf(sidCookie(login));
    // As a store whose expiry lags would hand it back: the record says its logins ended a second ago.
    const [row] = rows<{ data: string }>('SELECT data FROM sessions WHERE sid = ?', sid);
    const stored = JSON.parse(row!.data) as { cookie: unknown; sealed: string };
    const data = JSON.parse(h.built.ctx.sealer.open(stored.sealed, `session:${sid}`)!) as Record<string, unknown>;
    const sealed = h.built.ctx.sealer.seal(
      JSON.stringify({ ...data, pendingUntil: Date.now() - 1000 }),
      `session:${sid}`,
    );
    rows('UPDATE sessions SET data = ? WHERE sid = ? RETURNING sid', JSON.stringify({ ...stored, sealed }), sid);
    const res = await h.agent.get('/api/session');
    expect(res.status).toBe(200);
    expect(sessionJson(res).connected).toBe(false);
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });
});

describe('Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  test("the session key's TTL follows the pending login, then the full idle TTL once connected", async () => {
    h = await startHarness({ env: { SESSION_STORE: 'redis', REDIS_URL: redis.url } });
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      const ttlOf = async (res: { headers: Record<string, string | string[] | undefined> }) =>
        admin.pTTL(`xtc:sess:${sidOf(sidCookie(res))}`);
      const login = await h.agent.get('/auth/xt/login');
      expect(login.status).toBe(302);
      asPending(await ttlOf(login));
      const cb = await h.agent.get(await authorizeAtStandIn(login.headers.location!));
      expect(cb.status).toBe(303);
      asLasting(await ttlOf(cb));
    } finally {
      await admin.close();
    }
  });
});

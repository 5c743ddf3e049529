/**
 * SESSION_IDLE_TTL (rolling) and SESSION_MAX_AGE (absolute from login), and the connections that
 * follow their session: a session-bound connection is stored no longer than its session, a
 * subject's as long as its refresh token. Checked in the SQLite rows that actually hold them.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { loadConfig } from '../../src/config/index.js';
import {
  BASE_ENV,
  connectXt,
  type Harness,
  sessionJson,
  sidCookie,
  startHarness,
  tempDir,
} from '../helpers/harness.js';
import { sqliteRows } from '../helpers/sqlite.js';
import { linkEnv, linkToken } from '../helpers/link.js';

const DAY = 86_400_000;
let h: Harness;
let dataDir: string;

async function start(env: Record<string, string> = {}) {
  dataDir = tempDir();
  h = await startHarness({
    env: { SESSION_STORE: 'sqlite', DATA_DIR: dataDir, ...linkEnv(), ...env },
    xt: { refreshTtlSec: 180 * 86_400 },
  });
}
afterEach(() => h.close());

const rows = <T>(sql: string, ...args: unknown[]): T[] => sqliteRows<T>(dataDir, sql, ...args);
function run(sql: string, ...args: unknown[]): void {
  const db = new Database(path.join(dataDir, 'xt-connect.sqlite'));
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}
/** The session record as the app stores it (sealed, bound to its id: sealedSessions.ts), opened and written back with the app's own key. */
type SessionRecord = { startedAt?: number } & Record<string, unknown>;
function readSession(sid: string): SessionRecord {
  const [row] = rows<{ data: string }>('SELECT data FROM sessions WHERE sid = ?', sid);
  const stored = JSON.parse(row!.data) as { sealed?: string } & SessionRecord;
  return stored.sealed === undefined
    ? stored
    : (JSON.parse(h.built.ctx.sealer.open(stored.sealed, `session:${sid}`)!) as SessionRecord);
}
function writeSession(sid: string, data: SessionRecord): void {
  const [row] = rows<{ data: string }>('SELECT data FROM sessions WHERE sid = ?', sid);
  const { cookie } = JSON.parse(row!.data) as { cookie: unknown };
  const { cookie: _c, ...rest } = data;
  run(
    'UPDATE sessions SET data = ? WHERE sid = ?',
    JSON.stringify({ cookie, sealed: h.built.ctx.sealer.seal(JSON.stringify(rest), `session:${sid}`) }),
    sid,
  );
}
const sidOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
/** Seconds until the session cookie's Expires (express-session sends Expires, not Max-Age), rounded. */
const cookieMaxAge = (res: { headers: Record<string, unknown> }) => {
  const line = ([] as string[])
    .concat((res.headers['set-cookie'] as string[]) ?? [])
    .find((c) => c.startsWith('xtc.sid='));
  return Math.round((Date.parse(/Expires=([^;]+)/.exec(line ?? '')?.[1] ?? '') - Date.now()) / 1000);
};
/** Lets the fire-and-forget "follow the session" write land. */
const settle = () => new Promise((r) => setTimeout(r, 100));

test('defaults: a 14-day rolling cookie; a session-bound connection is stored no longer than its session', async () => {
  await start();
  const cb = await connectXt(h.agent);
  expect(Math.abs(cookieMaxAge(cb) - 14 * 86_400)).toBeLessThan(5);
  await settle();
  const [sess] = rows<{ expires: number }>('SELECT expires FROM sessions WHERE sid = ?', sidOf(sidCookie(cb)));
  const [conn] = rows<{ expires: number }>('SELECT expires FROM connections');
  expect(conn!.expires).toBeLessThanOrEqual(sess!.expires + 1000);
  expect(Math.abs(conn!.expires - (Date.now() + 14 * DAY))).toBeLessThan(60_000);
});

test("a subject's connection lives as long as its refresh token (180 days here), not as the browser session", async () => {
  await start();
  expect((await connectXt(h.agent, { link: await linkToken('user-1') })).status).toBe(303);
  await settle();
  const [conn] = rows<{ owner: string; expires: number }>('SELECT owner, expires FROM connections');
  expect(conn!.owner).toMatch(/^sub\./);
  // the refresh token's 180 days, plus the one-day tombstone
  expect(Math.abs(conn!.expires - (Date.now() + 181 * DAY))).toBeLessThan(60_000);
});

test('SESSION_MAX_AGE: a session older than that starts over, empty, and its own connection is swept with it', async () => {
  await start({ SESSION_MAX_AGE: '30d', SESSION_IDLE_TTL: '14d' });
  const cb = await connectXt(h.agent);
  const sid = sidOf(sidCookie(cb));
  expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  // 29 days after the login: the cookie may not outlive the max age (one day left).
  const data = readSession(sid);
  writeSession(sid, { ...data, startedAt: Date.now() - 29 * DAY });
  const near = await h.agent.get('/account');
  expect(Math.abs(cookieMaxAge(near) - 86_400)).toBeLessThan(60);
  await settle();
  const [sessNow] = rows<{ expires: number }>('SELECT expires FROM sessions WHERE sid = ?', sid);
  const [connNow] = rows<{ expires: number }>('SELECT expires FROM connections');
  expect(connNow!.expires).toBeLessThanOrEqual(sessNow!.expires + 1000); // stored no longer than the session
  // 31 days after it: a new, empty session; the connection is gone from the store.
  writeSession(sid, { ...data, startedAt: Date.now() - 31 * DAY });
  const after = await h.agent.get('/api/session');
  expect(sessionJson(after).connected).toBe(false);
  await settle();
  expect(rows('SELECT owner FROM connections')).toEqual([]);
  // A fresh login counts from now.
  expect((await connectXt(h.agent)).status).toBe(303);
  expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
});

test('a linked session at its max age starts over, but the subject keeps its connection', async () => {
  await start({ SESSION_MAX_AGE: '30d' });
  const cb = await connectXt(h.agent, { link: await linkToken('user-2') });
  const sid = sidOf(sidCookie(cb));
  writeSession(sid, { ...readSession(sid), startedAt: Date.now() - 31 * DAY });
  expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(false);
  await settle();
  expect(rows('SELECT owner FROM connections')).toHaveLength(1);
  const other = request.agent(h.built.app);
  expect((await other.get(`/auth/xt/login?link=${await linkToken('user-2')}`)).status).toBe(303); // still connected
});

test('SESSION_TTL is still read, as the idle TTL, with a deprecation warning; both at once is refused', async () => {
  const c = loadConfig({ ...BASE_ENV, XT_ENABLED: 'false', SESSION_TTL: '3d' });
  expect(c.session.idleTtlMs).toBe(3 * DAY);
  expect(c.warnings).toEqual([expect.stringMatching(/SESSION_TTL is deprecated/)]);
  expect(() => loadConfig({ ...BASE_ENV, XT_ENABLED: 'false', SESSION_TTL: '3d', SESSION_IDLE_TTL: '2d' })).toThrow(
    /SESSION_TTL: replaced by SESSION_IDLE_TTL/,
  );
  await start({ SESSION_TTL: '3d' });
  expect(h.logs.records().some((r) => r.level === 40 && /SESSION_TTL is deprecated/.test(String(r.msg)))).toBe(true);
  expect(Math.abs(cookieMaxAge(await connectXt(h.agent)) - 3 * 86_400)).toBeLessThan(5);
});

test('followSession moves the stored expiry with the session, and never writes over a newer record', async () => {
  await start();
  await connectXt(h.agent);
  await settle();
  const [{ owner }] = rows<{ owner: string }>('SELECT owner FROM connections') as [{ owner: string }];
  const { connections, stores } = h.built.ctx;
  await connections.followSession(owner, Date.now() + 3_600_000);
  const [conn] = rows<{ expires: number }>('SELECT expires FROM connections');
  expect(Math.abs(conn!.expires - (Date.now() + 3_600_000))).toBeLessThan(5_000);
  // A record replaced between the read and the write (a refresh) stands.
  const before = await stores.authState.getConnection(owner, 'xt');
  const read = stores.authState.getConnection.bind(stores.authState);
  stores.authState.getConnection = async (o, p) => {
    const v = await read(o, p);
    run("UPDATE connections SET data = data || 'x'");
    return v;
  };
  await connections.followSession(owner, Date.now() + 60_000);
  stores.authState.getConnection = read;
  expect(await stores.authState.getConnection(owner, 'xt')).toBe(`${before}x`);
  const [after] = rows<{ expires: number }>('SELECT expires FROM connections');
  expect(Math.abs(after!.expires - (Date.now() + 3_600_000))).toBeLessThan(5_000);
});

test('a session stored before SESSION_MAX_AGE existed (no startedAt) gets one, and ends at its max age', async () => {
  await start({ SESSION_MAX_AGE: '30d' });
  const cb = await connectXt(h.agent);
  const sid = sidOf(sidCookie(cb));
  const { startedAt: _dropped, ...legacy } = readSession(sid);
  writeSession(sid, legacy);
  expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  await settle();
  const stamped = readSession(sid).startedAt!;
  expect(Math.abs(stamped - Date.now())).toBeLessThan(5000); // counted from the upgrade
  writeSession(sid, { ...legacy, startedAt: Date.now() - 31 * DAY });
  expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(false);
});

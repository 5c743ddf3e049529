/**
 * The session record in the store is sealed and bound to its session id (sealedSessions.ts). An
 * attacker with write access to the store, holding a session cookie of their own, tries to be
 * answered "connected" with someone else's XT.COM account: by pointing their record at the
 * victim's owner id, by copying the victim's record under their own id, by editing the sealed
 * value, or by writing a record in clear as an earlier version stored it. Each is checked on what
 * leaves the process: /api/session, and a call through /api/xt.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import path from 'node:path';
import request from 'supertest';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import {
  type Harness,
  TEST_SECRET,
  connectXt,
  sessionJson,
  sidCookie,
  startHarness,
  tempDir,
} from '../helpers/harness.js';

let xt: XtStandIn;
let dir: string;
const harnesses: Harness[] = [];
const open = async () => {
  const h = await startHarness({ standIn: xt, env: { SESSION_STORE: 'sqlite', DATA_DIR: dir } });
  harnesses.push(h);
  return h;
};
const db = () => new Database(path.join(dir, 'xt-connect.sqlite'));
const sql = <T>(q: string, ...args: unknown[]): T[] => {
  const d = db();
  try {
    return q.trim().toUpperCase().startsWith('SELECT')
      ? (d.prepare(q).all(...args) as T[])
      : (d.prepare(q).run(...args), []);
  } finally {
    d.close();
  }
};
const sidOf = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
const rowOf = (sid: string) => sql<{ data: string }>('SELECT data FROM sessions WHERE sid = ?', sid)[0]!.data;
const setRow = (sid: string, data: string) => sql('UPDATE sessions SET data = ? WHERE sid = ?', data, sid);

/** What the attacker's cookie is answered: connected or not, and whether the victim's balances come back. */
async function seenBy(h: Harness, cookie: string): Promise<{ connected: boolean; userId: unknown; balances: number }> {
  const s = sessionJson(await request(h.built.app).get('/api/session').set('Cookie', cookie));
  const balances = (await request(h.built.app).get('/api/xt/spot/v4/balances').set('Cookie', cookie)).status;
  return { connected: s.connected, userId: s.userId, balances };
}

/** A victim connected as XT.COM user 11111111; an attacker's session that has begun a login (so it has a record). */
async function victimAndAttacker(h: Harness) {
  const victim = request.agent(h.built.app);
  const victimCookie = sidCookie(await connectXt(victim, { asUser: '11111111' }));
  const login = await request(h.built.app).get('/auth/xt/login');
  const attackerCookie = sidCookie(login);
  return { victimSid: sidOf(victimCookie), attackerSid: sidOf(attackerCookie), attackerCookie };
}

beforeEach(async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET });
  dir = tempDir();
});
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  await xt.close();
});

test('the stored record holds neither the owner id nor the form token in clear, only the cookie', async () => {
  const h = await open();
  const agent = request.agent(h.built.app);
  const cookie = sidCookie(await connectXt(agent));
  await agent.get('/account'); // a form token now exists
  const row = JSON.parse(rowOf(sidOf(cookie))) as Record<string, unknown>;
  expect(Object.keys(row).sort()).toEqual(['cookie', 'sealed']);
  const owner = sql<{ owner: string }>('SELECT owner FROM connections')[0]!.owner;
  expect(rowOf(sidOf(cookie))).not.toContain(owner);
});

describe('with the upgrade grace over (a record in clear is refused)', () => {
  /** First start sets the grace; it is removed (as its TTL would), and a restart finds the era already begun. */
  async function afterGrace(): Promise<Harness> {
    const first = await open();
    await first.close();
    sql("DELETE FROM marks WHERE key = 'sessions-unsealed-grace'");
    return open();
  }

  test("pointing the attacker's record at the victim's owner id, in clear, gets nothing", async () => {
    const h = await afterGrace();
    const { attackerSid, attackerCookie } = await victimAndAttacker(h);
    const victimOwner = sql<{ owner: string }>('SELECT owner FROM connections')[0]!.owner;
    const cookie = (JSON.parse(rowOf(attackerSid)) as { cookie: unknown }).cookie;
    setRow(attackerSid, JSON.stringify({ cookie, owner: victimOwner, csrf: 'x' }));
    expect(await seenBy(h, attackerCookie)).toEqual({ connected: false, userId: null, balances: 401 });
  });

  test("copying the victim's sealed record under the attacker's session id gets nothing", async () => {
    const h = await afterGrace();
    const { victimSid, attackerSid, attackerCookie } = await victimAndAttacker(h);
    setRow(attackerSid, rowOf(victimSid));
    expect(await seenBy(h, attackerCookie)).toEqual({ connected: false, userId: null, balances: 401 });
  });

  test('no edit of the sealed value opens (property-based), and none is a 500', async () => {
    const h = await afterGrace();
    const { victimSid, attackerSid, attackerCookie } = await victimAndAttacker(h);
    const victimRow = JSON.parse(rowOf(victimSid)) as { cookie: unknown; sealed: string };
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'),
        async (at, ch) => {
          const i = at % victimRow.sealed.length;
          if (victimRow.sealed[i] === ch) return;
          const sealed = victimRow.sealed.slice(0, i) + ch + victimRow.sealed.slice(i + 1);
          setRow(attackerSid, JSON.stringify({ cookie: victimRow.cookie, sealed }));
          const res = await request(h.built.app).get('/api/session').set('Cookie', attackerCookie);
          expect(res.status).toBe(200);
          expect(sessionJson(res).connected).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });
});

test('upgrading: during the grace a record in clear (an earlier version) is accepted, and sealed at its next write', async () => {
  const h = await open();
  const agent = request.agent(h.built.app);
  const cookie = sidCookie(await connectXt(agent));
  const sid = sidOf(cookie);
  const sealedRow = JSON.parse(rowOf(sid)) as { cookie: unknown; sealed: string };
  const plain = JSON.parse(h.built.ctx.sealer.open(sealedRow.sealed, `session:${sid}`)!) as Record<string, unknown>;
  setRow(sid, JSON.stringify({ cookie: sealedRow.cookie, ...plain })); // as the previous version stored it
  expect(sessionJson(await agent.get('/api/session')).connected).toBe(true);
  await agent.get('/account'); // a write: the notice is taken, a form token kept
  expect(Object.keys(JSON.parse(rowOf(sid)) as object).sort()).toEqual(['cookie', 'sealed']);
  expect(sessionJson(await agent.get('/api/session')).connected).toBe(true);
});

test('the grace is set once: a restart after it ended does not open it again', async () => {
  const first = await open();
  expect(sql('SELECT key FROM marks WHERE key = ?', 'sessions-unsealed-grace')).toHaveLength(1);
  await first.close();
  sql("DELETE FROM marks WHERE key = 'sessions-unsealed-grace'");
  const second = await open();
  expect(second.built.ctx.sessionGrace.acceptUnsealed()).toBe(false);
  expect(sql('SELECT key FROM marks WHERE key = ?', 'sessions-unsealed-grace')).toHaveLength(0);
});

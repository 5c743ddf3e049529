/**
 * Session fixation under a race, with real Redis (whose calls interleave, unlike SQLite's).
 *
 * The attacker plants a session cookie in the victim's browser, then keeps using that cookie
 * while the victim logs in. A request of the attacker's that loaded the old session before the
 * login destroyed it writes it back afterwards; before the fix that revived the old session id
 * with the victim's private owner id, and so with the victim's connection.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { authorizeAtStandIn, type Harness, startHarness, type SessionJson } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

let redis: RedisServer;
let h: Harness;
let server: http.Server;
let base: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

beforeAll(async () => {
  redis = await startRedis();
  h = await startHarness({ env: { SESSION_STORE: 'redis', REDIS_URL: redis.url } });
  server = h.built.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  agent.destroy();
  await new Promise((r) => server.close(r));
  await h.close();
  await redis.stop();
});

interface Answer {
  status: number;
  location?: string;
  cookie?: string;
  body: string;
}

function get(path: string, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { agent, headers: cookie ? { cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('xtc.sid='));
        resolve({ status: res.statusCode ?? 0, location: res.headers.location, cookie: set?.split(';')[0], body });
      });
    });
    req.on('error', reject);
  });
}

const TRIALS = 30;
const ATTACKERS = 6;

test(`a planted session never gains the victim's connection (${TRIALS} trials, ${ATTACKERS} racing attacker requests at a time)`, async () => {
  let revived = 0;
  let leakedDuringRace = 0;
  let attackerRequests = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    // The attacker gets a session and plants its cookie in the victim's browser.
    const planted = (await get('/auth/xt/login')).cookie!;
    expect(planted).toBeDefined();
    // The victim starts a login with the planted cookie and approves at XT.COM.
    const login = await get('/auth/xt/login', planted);
    expect(login.status).toBe(302);
    const callbackPath = await authorizeAtStandIn(login.location!);

    // While the victim's callback runs, the attacker keeps using the planted cookie.
    let done = false;
    const attacker = async (n: number) => {
      while (!done || n-- > 0) {
        const path = n % 2 === 0 ? '/auth/xt/login' : '/api/session';
        const res = await get(path, planted);
        attackerRequests++;
        if (path === '/api/session' && res.status === 200 && (JSON.parse(res.body) as SessionJson).connected === true)
          leakedDuringRace++;
      }
    };
    const racing = Array.from({ length: ATTACKERS }, (_, i) => attacker(4 + i));
    const cb = await get(callbackPath, planted);
    done = true;
    await Promise.all(racing);

    expect(cb.status).toBe(303);
    expect(cb.cookie).toBeDefined();
    expect(cb.cookie).not.toBe(planted);
    // The victim is connected with the new cookie…
    expect((JSON.parse((await get('/api/session', cb.cookie)).body) as SessionJson).connected).toBe(true);
    // …and the planted one shows nothing of it, now or later.
    const after = JSON.parse((await get('/api/session', planted)).body) as { connected: boolean };
    if (after.connected) revived++;
  }
  expect({ revived, leakedDuringRace }).toEqual({ revived: 0, leakedDuringRace: 0 });
  expect(attackerRequests).toBeGreaterThan(TRIALS * ATTACKERS);
}, 60_000);

test("another tab's pending login survives the rotation of the owner id", async () => {
  // Tab A and tab B start logins in one browser; A completes, then B still completes.
  const first = await get('/auth/xt/login');
  const cookie = first.cookie!;
  const tabB = await get('/auth/xt/login', cookie);
  const cbA = await get(await authorizeAtStandIn(first.location!), cookie);
  expect(cbA.status).toBe(303);
  const cbB = await get(await authorizeAtStandIn(tabB.location!), cbA.cookie);
  expect(cbB.status).toBe(303);
  expect((JSON.parse((await get('/api/session', cbB.cookie)).body) as SessionJson).connected).toBe(true);
});

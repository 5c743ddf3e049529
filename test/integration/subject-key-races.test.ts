/**
 * What a move between SUBJECT_KEYS keys must never do, whoever makes it (a server's lookup, `keys
 * rotate`), tried the way a red team broke it: move a record without its refresh lock (a refresh
 * in flight is then lost), count a move that did not happen, or carry a copy past an end (an
 * erasure that reports the connection ended while a copy lives on under the newest key).
 */
import request from 'supertest';
import { runCli } from '../../src/cli.js';
import type { Env } from '../../src/config/index.js';
import { refreshLockKey } from '../../src/session/connections/lock.js';
import { Subjects } from '../../src/session/subjects.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { connectXt, type Harness, startHarness, TEST_SECRET, tempDir, xtEnv } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';

const [S1, S2] = ['race-subject-key-one-0123456789abcdefghij', 'race-subject-key-two-0123456789abcdefghij'];
const KEY = 'race-service-key-0123456789abcdef01234567';
const TOKEN_KEY = Buffer.alloc(32, 7).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let xt: XtStandIn;
let h: Harness | undefined;
let base: Env;
beforeAll(async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET });
});
beforeEach(() => {
  // PROVIDER_TIMEOUT 200 ms: the longest a refresh may hold its lock is 2 × 200 ms + 5 s, plus the 3 s lease.
  base = linkEnv({
    SESSION_STORE: 'sqlite',
    DATA_DIR: tempDir(),
    SERVICE_API_KEYS: `backend:${KEY}`,
    TOKEN_ENCRYPTION_KEYS: TOKEN_KEY,
    PROVIDER_TIMEOUT: '200ms',
  });
});
afterEach(async () => h?.close());
afterAll(() => xt.close());

async function serve(SUBJECT_KEYS: string): Promise<Env> {
  await h?.close();
  h = await startHarness({ standIn: xt, env: { ...base, SUBJECT_KEYS } });
  return xtEnv(xt, { ...base, SUBJECT_KEYS, LOG_LEVEL: 'error' });
}
const owner = (key: string, sub: string) => new Subjects([key]).ownerOf(sub);
const stored = (key: string, sub: string) => h!.built.ctx.stores.authState.getConnection(owner(key, sub), 'xt');
async function cli(env: Env, ...args: string[]) {
  const out: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: () => undefined, env });
  return { code, out };
}

test('keys rotate never moves a record whose refresh lock stays held: it says busy, exits 1, and moves it once the lock is free', async () => {
  await serve(S1);
  await connectXt(request.agent(h!.built.app), { link: await linkToken('held') });
  const env = await serve(`${S2},${S1}`);
  const store = h!.built.ctx.stores.authState;
  // A refresh that never ends: the lock taken, its lease far longer than the longest hold.
  const token = await store.acquireLock(refreshLockKey(owner(S1, 'held'), 'xt'), 60_000);
  expect(token).not.toBeNull();
  const started = Date.now();
  const run = await cli(env, 'keys', 'rotate');
  expect(Date.now() - started).toBeGreaterThan(8000); // it waited the longest hold
  expect(run.code).toBe(1);
  expect(run.out[0]).toMatch(/ 0 moved to the newest SUBJECT_KEYS key, .* 1 busy, 0 gone/);
  expect([await stored(S1, 'held'), await stored(S2, 'held')].map((v) => v !== null)).toEqual([true, false]);

  await store.releaseLock(refreshLockKey(owner(S1, 'held'), 'xt'), token!);
  expect((await cli(env, 'keys', 'rotate')).out[0]).toMatch(
    / 1 moved to the newest SUBJECT_KEYS key, .* 0 busy, 0 gone/,
  );
  expect([await stored(S1, 'held'), await stored(S2, 'held')].map((v) => v !== null)).toEqual([false, true]);
}, 30_000);

test("keys rotate moves a record that a server's lookup took the move of and never made (its once-an-hour marker set)", async () => {
  await serve(S1);
  await connectXt(request.agent(h!.built.app), { link: await linkToken('marked') });
  const env = await serve(`${S2},${S1}`);
  const [from, to] = [owner(S1, 'marked'), owner(S2, 'marked')];
  // What a lookup killed between its marker and its move leaves behind.
  expect(
    await h!.built.ctx.stores.authState.markOnce(`subject-move:xt:${[from, to].sort().join(':')}`, 3_600_000),
  ).toBe(true);
  const run = await cli(env, 'keys', 'rotate');
  expect(run).toEqual({
    code: 0,
    out: [expect.stringMatching(/ 1 moved to the newest SUBJECT_KEYS key, /) as unknown],
  });
  const after = await serve(S2);
  expect((await cli(after, 'connections', 'show', 'marked')).out[0]).toBe('subject marked: connected');
});

test('subject erase while a server moves the same record (its write held up): no copy outlives the erasure', async () => {
  await serve(S1);
  await connectXt(request.agent(h!.built.app), { link: await linkToken('erase-race') });
  const env = await serve(`${S2},${S1}`);
  // The server's move writes the copy under S2 only after 1.5 s (a store stall, a GC pause).
  const store = h!.built.ctx.stores.authState;
  const put = store.putConnection.bind(store);
  store.putConnection = async (...args) => {
    await sleep(1500);
    return put(...args);
  };
  const lookup = request(h!.built.app).get('/v1/subjects/erase-race/connections').set('Authorization', `Bearer ${KEY}`);
  const looked = lookup.then((r) => r.status);
  await sleep(500); // the move has read the record and waits to write the copy
  const erased = await cli(env, 'subject', 'erase', 'erase-race', '--yes');
  expect(erased.out[0]).toMatch(/^erased: ended its connections to xt;/);
  expect(await looked).toBe(200);
  store.putConnection = put;
  expect([await stored(S1, 'erase-race'), await stored(S2, 'erase-race')]).toEqual([null, null]);
  expect((await cli(env, 'connections', 'show', 'erase-race')).out[0]).toBe('subject erase-race: not connected');
});

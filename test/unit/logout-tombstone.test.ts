/**
 * A back-channel logout's tombstone (Connections, memory store, a clock the test holds still):
 * every connection logged in no later than the logout and named by it ends when read, however
 * many logins pushed it out of the bounded index, exactly as the index would have ended it; a
 * login after a logout of its user, even in the same millisecond, stays, and one carrying a provider
 * session that was logged out (held back from before the logout) is over whenever it lands.
 */
import fc from 'fast-check';
import { LOGOUT_INDEX_MAX } from '../../src/session/connections/index.js';
import { Sealer } from '../../src/session/crypto.js';
import { LogoutIndex } from '../../src/session/connections/logoutIndex.js';
import { MemoryAuthStore } from '../../src/store/memory/index.js';
import type { TokenResponse } from '../../src/providers/types.js';
import type { Audit } from '../../src/shared/audit.js';
import { drainEvents, testConnections } from '../helpers/connections.js';
import { stubProvider } from '../helpers/providers.js';

function setup() {
  let t = 1_750_000_000_000;
  const now = () => t;
  const store = new MemoryAuthStore(now);
  const sealer = new Sealer([Buffer.alloc(32, 7)]);
  const audit: { event: string; fields: Record<string, unknown> }[] = [];
  const connections = testConnections(
    { store, sealer, now, providers: new Map([['oidc', stubProvider({ id: 'oidc', backchannelLogout: true })]]) },
    {
      audit: {
        write: (event: string, fields: Record<string, unknown>) => audit.push({ event, fields }),
      } as unknown as Audit,
      logoutIndex: new LogoutIndex(['a-session-secret-of-at-least-32-chars!!']),
    },
  );
  /** Every outbox event, opened: [owner, type, reason]. */
  const events = async () =>
    (await drainEvents(store.outbox, sealer)).map(({ owner, body }) => [owner, body.type, body.data.reason]);
  return { connections, store, audit, events, advance: (ms: number) => (t += ms) };
}

const tokens = (sid: string | undefined, sub: string): TokenResponse => ({
  accessToken: `at-${sid}-${sub}`,
  refreshToken: `rt-${sid}-${sub}`,
  accessExpiresAt: 1_750_000_000_000 + 86_400_000,
  sid,
  userId: sub,
});

test('a connection pushed out of the index ends when read, exactly as one the index ended (webhook, audit, removed)', async () => {
  const { connections, audit, events, advance } = setup();
  await connections.connect('T', 'oidc', tokens('s1', 'u1'));
  advance(1);
  for (let i = 0; i < LOGOUT_INDEX_MAX; i++) await connections.connect(`n${i}`, 'oidc', tokens('s1', 'u1'));
  await events(); // the logins' connection.created
  expect(await connections.endByProviderLogout('oidc', { sub: 'u1' })).toBe(LOGOUT_INDEX_MAX); // the index's: not T
  expect(await connections.read('T', 'oidc')).toBeNull();
  const ended = await events();
  expect(ended).toHaveLength(LOGOUT_INDEX_MAX + 1);
  expect(ended.filter(([owner]) => owner === 'T')).toEqual([['T', 'connection.ended', 'provider_logout']]);
  expect(ended.every(([, type, reason]) => type === 'connection.ended' && reason === 'provider_logout')).toBe(true);
  const lines = audit.filter((a) => a.event === 'disconnected');
  expect(lines).toHaveLength(LOGOUT_INDEX_MAX + 1);
  expect(lines.every((a) => a.fields.reason === 'provider_logout' && a.fields.provider === 'oidc')).toBe(true);
  expect(await connections.read('T', 'oidc')).toBeNull(); // removed: a second read finds nothing, and says nothing again
  expect(await events()).toEqual([]);
});

test('a login in the same millisecond as the logout, after it, stays connected', async () => {
  const { connections } = setup();
  await connections.connect('T', 'oidc', tokens('s1', 'u1'));
  await connections.endByProviderLogout('oidc', { sid: 's1', sub: 'u1' }); // the clock stands still
  expect(await connections.read('T', 'oidc')).toBeNull();
  // Started and finished in that same millisecond, after the logout (the provider kept its session).
  const again = await connections.connect('T', 'oidc', tokens('s1', 'u1'), undefined, 1_750_000_000_000);
  expect((await connections.view('T', 'oidc')).connected).toBe(true);
  expect((await connections.read('T', 'oidc'))?.connectedAt).toBe(again.connectedAt);
  await connections.connect('U', 'oidc', tokens('s2', 'u1')); // another session of the user, also after a sub logout
  await connections.endByProviderLogout('oidc', { sub: 'u1' });
  expect(await connections.read('U', 'oidc')).toBeNull();
  await connections.connect('U', 'oidc', tokens('s2', 'u1'));
  expect((await connections.read('U', 'oidc'))?.status).toBe('active');
});

test('a login held back from before a logout of its provider session ends, however late it lands', async () => {
  const { connections, events, advance } = setup();
  const started = 1_750_000_000_000;
  await connections.connect('T', 'oidc', tokens('s1', 'u1'));
  advance(1);
  await connections.endByProviderLogout('oidc', { sid: 's1', sub: 'u1' });
  advance(60_000);
  // A callback held since before the logout (its code still valid at a provider that does not
  // revoke it) lands now, carrying the session that was logged out: it is over on first read.
  await connections.connect('held', 'oidc', tokens('s1', 'u1'), undefined, started);
  await events();
  expect(await connections.read('held', 'oidc')).toBeNull();
  expect(await events()).toEqual([['held', 'connection.ended', 'provider_logout']]);
  // A login of that session started after the logout (the provider kept the session), and a new session, stay.
  await connections.connect('after', 'oidc', tokens('s1', 'u1'), undefined, started + 60_001);
  await connections.connect('new', 'oidc', tokens('s2', 'u1'), undefined, started);
  for (const o of ['after', 'new']) expect((await connections.read(o, 'oidc'))?.status).toBe('active');
  // A sub-only logout does not judge by the start: it names the user's sessions at that time, and this one came after.
  await connections.connect('held-sub', 'oidc', tokens('s3', 'u9'), undefined, started);
  expect((await connections.read('held-sub', 'oidc'))?.status).toBe('active');
});

test('a logout for a session or user nobody connected with leaves no tombstone (repeated, it must not grow the store)', async () => {
  const { connections, store } = setup();
  let puts = 0;
  const put = store.putLogoutTombstone.bind(store);
  store.putLogoutTombstone = (...args) => ((puts += 1), put(...args));
  for (let i = 0; i < 20; i++)
    expect(await connections.endByProviderLogout('oidc', { sid: `never-${i}`, sub: `nobody-${i}` })).toBe(0);
  expect(await connections.endByProviderLogout('oidc', { sub: 'nobody' })).toBe(0);
  expect(puts).toBe(0);
  await connections.connect('T', 'oidc', tokens('s1', 'u1'));
  await connections.endByProviderLogout('oidc', { sub: 'u1' });
  expect(puts).toBe(1);
});

test('a logout names what it names: another user, another session, another provider user of that session stay', async () => {
  const { connections } = setup();
  await connections.connect('same-sid-other-user', 'oidc', tokens('s1', 'u2'));
  await connections.connect('other-sid-same-user', 'oidc', tokens('s2', 'u1'));
  await connections.connect('other-user', 'oidc', tokens('s3', 'u3'));
  await connections.connect('T', 'oidc', tokens('s1', 'u1'));
  for (let i = 0; i < LOGOUT_INDEX_MAX; i++) await connections.connect(`n${i}`, 'oidc', tokens('s1', 'u1'));
  await connections.endByProviderLogout('oidc', { sid: 's1', sub: 'u1' });
  expect(await connections.read('T', 'oidc')).toBeNull();
  for (const o of ['same-sid-other-user', 'other-sid-same-user', 'other-user'])
    expect((await connections.read(o, 'oidc'))?.status).toBe('active');
});

test('property: after any logout, what it names and was logged in before it has ended, whatever came after stays', async () => {
  const login = fc.record({ sid: fc.constantFrom('s1', 's2', undefined), sub: fc.constantFrom('u1', 'u2') });
  await fc.assert(
    fc.asyncProperty(
      fc.array(login, { maxLength: 30 }),
      fc.integer({ min: 0, max: 2 * LOGOUT_INDEX_MAX }),
      fc.array(login, { maxLength: 10 }),
      fc.constantFrom({ sub: 'u1' }, { sid: 's1' }, { sid: 's1', sub: 'u1' }),
      fc.boolean(),
      async (before, flood, after, target, tick) => {
        const { connections, advance } = setup();
        const logins = [...before, ...Array.from({ length: flood }, () => ({ sid: 's1', sub: 'u1' }))];
        for (const [i, l] of logins.entries()) await connections.connect(`b${i}`, 'oidc', tokens(l.sid, l.sub));
        if (tick) advance(1);
        await connections.endByProviderLogout('oidc', target);
        for (const [i, l] of after.entries()) await connections.connect(`a${i}`, 'oidc', tokens(l.sid, l.sub));
        const targetSub = (target as { sub?: string }).sub;
        const named = (l: { sid?: string; sub: string }) =>
          (target.sid === undefined || l.sid === target.sid) && (targetSub === undefined || l.sub === targetSub);
        const gone = async (owner: string) => ((await connections.read(owner, 'oidc'))?.status ?? 'gone') === 'gone';
        for (const [i, l] of logins.entries()) expect(await gone(`b${i}`)).toBe(named(l));
        for (const i of after.keys()) expect(await gone(`a${i}`)).toBe(false);
      },
    ),
    { numRuns: 25 },
  );
});

test('the list of connections reads as a read does: one a logout reached through its tombstone ends as it is listed', async () => {
  const { connections, events, advance } = setup();
  await connections.connect('sub.T', 'oidc', tokens('s1', 'u1'), 'T');
  await connections.connect('sub.V', 'oidc', tokens('s9', 'u9'), 'V'); // another user: stays
  advance(1);
  for (let i = 0; i < LOGOUT_INDEX_MAX; i++)
    await connections.connect(`sub.n${i}`, 'oidc', tokens('s1', 'u1'), `n${i}`);
  await events();
  expect(await connections.endByProviderLogout('oidc', { sub: 'u1' })).toBe(LOGOUT_INDEX_MAX); // not T: out of the index
  await events();
  const page = await connections.list({ limit: 1000 });
  expect(page.items.map((i) => [i.subject, i.state])).toEqual([['V', 'connected']]);
  expect(await events()).toEqual([['sub.T', 'connection.ended', 'provider_logout']]); // said once, as a read says it
  expect((await connections.list({ limit: 1000 })).items.map((i) => i.subject)).toEqual(['V']);
  expect(await events()).toEqual([]);
  expect(await connections.read('sub.T', 'oidc')).toBeNull();
});

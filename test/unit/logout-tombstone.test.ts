/**
 * A back-channel logout's tombstone (Connections, memory store, a clock the test holds still):
 * every connection logged in no later than the logout and named by it ends when read, however
 * many logins pushed it out of the bounded index, exactly as the index would have ended it; a
 * login after the logout, even in the same millisecond, stays.
 */
import fc from 'fast-check';
import { pino } from 'pino';
import { Connections, LOGOUT_INDEX_MAX } from '../../src/session/connections.js';
import { type ConnectionEventBody, openEvent } from '../../src/session/connectionEvents.js';
import { Sealer } from '../../src/session/crypto.js';
import { LogoutIndex } from '../../src/session/logoutIndex.js';
import { MemoryAuthStore } from '../../src/session/stores/memory.js';
import type { TokenResponse } from '../../src/providers/types.js';
import type { Audit } from '../../src/shared/audit.js';
import { stubProvider } from '../helpers/providers.js';

function setup() {
  let t = 1_750_000_000_000;
  const now = () => t;
  const store = new MemoryAuthStore(now);
  const sealer = new Sealer([Buffer.alloc(32, 7)]);
  const audit: { event: string; fields: Record<string, unknown> }[] = [];
  const connections = new Connections({
    store,
    sealer,
    providers: new Map([['oidc', stubProvider({ id: 'oidc', backchannelLogout: true })]]),
    logger: pino({ level: 'silent' }),
    now,
    skewMs: 60_000,
    backoffMaxMs: 60_000,
    lockMaxHoldMs: 25_000,
    maxTtlMs: 86_400_000,
    webhooks: true,
    audit: { write: (event: string, fields: Record<string, unknown>) => audit.push({ event, fields }) } as unknown as Audit,
    logoutIndex: new LogoutIndex('a-session-secret-of-at-least-32-chars!!'),
  });
  /** Every outbox event, opened: [owner, type, reason]. */
  const events = async () => {
    const out: [string, string, string | null][] = [];
    for (let batch = await store.outbox.claim(100, 60_000); batch.length > 0; batch = await store.outbox.claim(100, 60_000)) {
      for (const e of batch) {
        const body = JSON.parse(openEvent(sealer, e)!) as ConnectionEventBody;
        out.push([e.group, body.type, body.data.reason]);
        await store.outbox.done(e.id, e.lease);
      }
    }
    return out;
  };
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
  const again = await connections.connect('T', 'oidc', tokens('s1', 'u1'));
  expect((await connections.view('T', 'oidc')).connected).toBe(true);
  expect((await connections.read('T', 'oidc'))?.connectedAt).toBe(again.connectedAt);
  await connections.connect('U', 'oidc', tokens('s2', 'u1')); // another session of the user, also after a sub logout
  await connections.endByProviderLogout('oidc', { sub: 'u1' });
  expect(await connections.read('U', 'oidc')).toBeNull();
  await connections.connect('U', 'oidc', tokens('s2', 'u1'));
  expect((await connections.read('U', 'oidc'))?.status).toBe('active');
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
  for (const o of ['same-sid-other-user', 'other-sid-same-user', 'other-user']) expect((await connections.read(o, 'oidc'))?.status).toBe('active');
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
        const named = (l: { sid?: string; sub: string }) =>
          (target.sid === undefined || l.sid === target.sid) && ((target as { sub?: string }).sub === undefined || l.sub === 'u1');
        for (const [i, l] of logins.entries()) expect(((await connections.read(`b${i}`, 'oidc'))?.status ?? 'gone') === 'gone').toBe(named(l));
        for (const i of after.keys()) expect((await connections.read(`a${i}`, 'oidc'))?.status).toBe('active');
      },
    ),
    { numRuns: 25 },
  );
});

/**
 * Links from the institution's site (LINK_SECRET): a valid link binds the browser session to the
 * institution's user, and the connection made next belongs to that user, seen from every browser
 * linked to it. Every bad link is refused before a transaction exists or the provider is named.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import {
  errorCode,
  type Harness,
  sessionJson,
  sidCookie,
  startHarness,
  tempDir,
  connectXt,
  disconnectXt,
} from '../helpers/harness.js';
import { linkEnv, linkToken, unsignedLinkToken } from '../helpers/link.js';
import { connectOidc, startOidcHarness } from '../helpers/oidc.js';

let h: Harness;
let dataDir: string;
const SUPPORT = 'https://help.example/support';
beforeEach(async () => {
  dataDir = tempDir();
  h = await startHarness({ env: { ...linkEnv(), SESSION_STORE: 'sqlite', DATA_DIR: dataDir, SUPPORT_URL: SUPPORT } });
});
afterEach(() => h.close());

const db = () => new Database(path.join(dataDir, 'xt-connect.sqlite'), { readonly: true });
const count = (table: string) => {
  const d = db();
  try {
    return (d.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    d.close();
  }
};
const state = async (agent: Harness['agent']) => sessionJson(await agent.get('/api/session')).providers.xt;

test('a linked login connects the subject; a second browser linked to it sees the same connection without visiting XT.COM', async () => {
  const cb = await connectXt(h.agent, { link: await linkToken('user-42') });
  expect(cb.status).toBe(303);
  expect((await state(h.agent)).connected).toBe(true);

  const other = request.agent(h.built.app);
  const direct = await other.get(
    `/auth/xt/login?link=${await linkToken('user-42', { returnTo: '/account?from=site' })}`,
  );
  expect(direct.status).toBe(303);
  expect(direct.headers.location).toBe('/account?from=site');
  expect((await state(other)).connected).toBe(true);
  expect((await state(other)).userId).toBe((await state(h.agent)).userId);
});

test('a link audits what it gave: login_started for a new login; link_used (connected) when the subject was connected already', async () => {
  const audits = (event: string) => h.logs.records().filter((r) => r.audit === true && r.event === event);
  await connectXt(h.agent, { link: await linkToken('user-7') });
  expect(audits('login_started')).toHaveLength(1);
  expect(audits('link_used')).toHaveLength(0); // a new login is already on record: not twice
  const owner = audits('login_started')[0]!.owner;

  const other = request.agent(h.built.app);
  const direct = await other.get(`/auth/xt/login?link=${await linkToken('user-7')}`);
  expect(direct.status).toBe(303);
  const used = audits('link_used');
  expect(used).toHaveLength(1);
  expect(used[0]).toMatchObject({ provider: 'xt', owner, connected: true });
  expect(JSON.stringify(used[0])).not.toContain('user-7'); // the hashed key, never the subject
  expect(audits('login_started')).toHaveLength(1);
  // The bound browser's own Connect (no link) spends nothing: no link_used line.
  await other.get('/auth/xt/login');
  expect(audits('link_used')).toHaveLength(1);
});

test('the returnTo claim wins over ?returnTo=, and is held to the same-origin rules', async () => {
  const cb = await connectXt(h.agent, {
    returnTo: '/elsewhere',
    link: await linkToken('user-1', { returnTo: '/?from=claim' }),
  });
  expect(cb.status).toBe(303);
  expect(cb.headers.location).toBe('/?from=claim');
  // Connected now: the link goes straight to its returnTo, which must be same-origin.
  const evil = await h.agent.get(`/auth/xt/login?link=${await linkToken('user-1', { returnTo: '//evil.example/x' })}`);
  expect(evil.status).toBe(303);
  expect(evil.headers.location).toBe('/account');
});

describe('every bad link is refused before any transaction or redirect', () => {
  const cases: [string, () => Promise<string>][] = [
    ['wrong signature', () => linkToken('user-1', { secret: 'another-secret-that-is-long-enough-000000' })],
    ['alg none', async () => unsignedLinkToken('user-1')],
    ['wrong aud', () => linkToken('user-1', { aud: 'https://other.example' })],
    ['bad sub characters', () => linkToken('user 1/../x')],
    ['sub too long', () => linkToken('u'.repeat(129))],
    ['sub ".." (a path segment no URL can address)', () => linkToken('..')],
    ['sub "."', () => linkToken('.')],
    ['no jti', () => linkToken('user-1', { jti: null })],
    ['exp more than 10 minutes ahead', () => linkToken('user-1', { expIn: 3600 })],
    ['iat in the future', () => linkToken('user-1', { iatIn: 600 })],
    ['not a JWT', async () => 'not-a-jwt'],
  ];
  test.each(cases)('%s', async (_name, make) => {
    const res = await h.agent.get(`/auth/xt/login?link=${encodeURIComponent(await make())}`);
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(errorCode(res.text)).toBe('link_invalid');
    expect(res.text).not.toContain(h.xt.url);
    expect(count('login_tx')).toBe(0);
  });

  test('an expired link is told apart from a malformed or forged one, and both pages offer support', async () => {
    const pages = {
      expired: await h.agent.get(`/auth/xt/login?link=${await linkToken('user-1', { expIn: -120 })}`),
      malformed: await h.agent.get('/auth/xt/login?link=not-a-token'),
      forged: await h.agent.get(
        `/auth/xt/login?link=${await linkToken('user-1', { secret: 'another-secret-that-is-long-enough-000000' })}`,
      ),
    };
    expect(Object.values(pages).map((r) => r.status)).toEqual([400, 400, 400]);
    expect(errorCode(pages.expired.text)).toBe('link_expired');
    expect(pages.expired.text).toContain('<h1>This link has expired</h1>');
    expect(pages.expired.text).toContain('expired or was already used');
    for (const r of [pages.malformed, pages.forged]) {
      expect(errorCode(r.text)).toBe('link_invalid');
      expect(r.text).toContain('<h1>This link is not valid</h1>');
      expect(r.text).not.toContain('expired');
    }
    for (const r of Object.values(pages)) expect(r.text).toContain(`href="${SUPPORT}"`);
    expect(count('login_tx')).toBe(0);
  });

  test('a repeated link parameter', async () => {
    const t = await linkToken('user-1');
    const res = await h.agent.get(`/auth/xt/login?link=${t}&link=${t}`);
    expect(res.status).toBe(400);
    expect(errorCode(res.text)).toBe('link_invalid');
  });

  test('a used link, even from another browser; of 10 browsers racing with one link, exactly one gets through', async () => {
    const t = await linkToken('user-1');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => request(h.built.app).get(`/auth/xt/login?link=${t}`)),
    );
    expect(results.filter((r) => r.status === 302)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && errorCode(r.text) === 'link_expired')).toHaveLength(9);
    expect(count('login_tx')).toBe(1);
  });
});

test('switching subjects in one browser replaces the binding (new session id) and never merges them', async () => {
  expect((await connectXt(h.agent, { link: await linkToken('alice'), asUser: '111' })).status).toBe(303);

  const toBob = await h.agent.get(`/auth/xt/login?link=${await linkToken('bob')}`);
  expect(toBob.status).toBe(302); // bob is not connected: on to XT.COM
  expect((await state(h.agent)).connected).toBe(false); // alice's connection is not bob's
  expect((await connectXt(h.agent, { link: await linkToken('bob'), asUser: '222' })).status).toBe(303);
  expect((await state(h.agent)).userId).toBe('222');

  const backToAlice = await h.agent.get(`/auth/xt/login?link=${await linkToken('alice')}`);
  expect(backToAlice.status).toBe(303);
  expect((await state(h.agent)).userId).toBe('111');
});

test("a browser's own connection is never merged into a subject, and a link never ends it: hidden while bound, back after Disconnect", async () => {
  expect((await connectXt(h.agent, { asUser: '333' })).status).toBe(303);
  expect((await state(h.agent)).userId).toBe('333');
  const toSubject = await h.agent.get(`/auth/xt/login?link=${await linkToken('henry')}`);
  expect(toSubject.status).toBe(302); // henry has no connection: on to XT.COM, nothing carried over
  expect((await state(h.agent)).connected).toBe(false);
  expect(count('connections')).toBe(1); // the browser's own, untouched
  expect((await connectXt(h.agent, { link: await linkToken('henry'), asUser: '444' })).status).toBe(303);
  expect((await state(h.agent)).userId).toBe('444');
  // Disconnect ends henry's connection and the binding: the browser's own is back in view.
  expect((await disconnectXt(h.agent)).status).toBe(303);
  expect((await state(h.agent)).userId).toBe('333');
});

test('after Disconnect, a browser that came with a link no longer sees the subject (a shared device)', async () => {
  expect((await connectXt(h.agent, { link: await linkToken('ivy') })).status).toBe(303);
  expect((await disconnectXt(h.agent)).status).toBe(303);
  const next = request.agent(h.built.app);
  expect((await connectXt(next, { link: await linkToken('ivy'), asUser: '555' })).status).toBe(303);
  expect((await state(next)).connected).toBe(true);
  expect((await state(h.agent)).connected).toBe(false);
  expect((await h.agent.get('/api/xt/spot/v4/balances')).status).toBe(401);
});

test("a bound session's own Connect button (no link) connects its subject, never a hidden session connection", async () => {
  expect((await connectXt(h.agent, { link: await linkToken('jack'), asUser: '666' })).status).toBe(303);
  await h.built.ctx.connections.disconnect(h.built.ctx.subjects.ownerOf('jack'), 'xt', 'revoked_by_service');
  expect((await state(h.agent)).connected).toBe(false);
  expect((await connectXt(h.agent, { asUser: '777' })).status).toBe(303); // /auth/xt/login, as the Reconnect button
  expect((await state(h.agent)).userId).toBe('777');
  const other = request.agent(h.built.app);
  expect((await other.get(`/auth/xt/login?link=${await linkToken('jack')}`)).status).toBe(303); // jack is connected
  const d = db();
  const owners = d.prepare('SELECT owner FROM connections').all() as { owner: string }[];
  d.close();
  expect(owners.map((o) => o.owner)).toEqual([expect.stringMatching(/^sub\./)]);
});

test('a valid link is not spent by a request that fails for another reason', async () => {
  const t = await linkToken('kim');
  const bad = await h.agent.get(`/auth/xt/login?link=${t}&returnTo=${'a'.repeat(600)}`);
  expect(bad.status).toBe(400);
  expect(errorCode(bad.text)).toBe('bad_request');
  expect((await h.agent.get(`/auth/xt/login?link=${t}`)).status).toBe(302);
});

test('each link gives the browser a new session id', async () => {
  const first = await h.agent.get(`/auth/xt/login?link=${await linkToken('carol')}`);
  const second = await h.agent.get(`/auth/xt/login?link=${await linkToken('carol')}`);
  const third = await h.agent.get(`/auth/xt/login?link=${await linkToken('dave')}`);
  const ids = [sidCookie(first), sidCookie(second), sidCookie(third)];
  expect(new Set(ids).size).toBe(3);
});

test('disconnecting in one browser ends the connection for every browser of that subject', async () => {
  expect((await connectXt(h.agent, { link: await linkToken('erin') })).status).toBe(303);
  const other = request.agent(h.built.app);
  expect((await other.get(`/auth/xt/login?link=${await linkToken('erin')}`)).status).toBe(303);
  expect((await disconnectXt(other)).status).toBe(303);
  expect((await state(other)).connected).toBe(false);
  expect((await state(h.agent)).connected).toBe(false);
});

test('the store never holds the raw subject outside sealed records', async () => {
  const subject = 'frank@example.org';
  expect((await connectXt(h.agent, { link: await linkToken(subject) })).status).toBe(303);
  const bytes = fs.readFileSync(path.join(dataDir, 'xt-connect.sqlite')).toString('latin1');
  const wal = fs.existsSync(path.join(dataDir, 'xt-connect.sqlite-wal'))
    ? fs.readFileSync(path.join(dataDir, 'xt-connect.sqlite-wal')).toString('latin1')
    : '';
  expect(bytes + wal).not.toContain(subject);
  const d = db();
  const owners = d.prepare('SELECT owner FROM connections').all() as { owner: string }[];
  d.close();
  expect(owners.map((o) => o.owner)).toEqual([expect.stringMatching(/^sub\.[A-Za-z0-9_-]{43}$/)]);
});

describe('LINK_REQUIRED', () => {
  let strict: Harness;
  beforeEach(async () => {
    strict = await startHarness({ env: linkEnv({ LINK_REQUIRED: 'true' }) });
  });
  afterEach(() => strict.close());

  test('a login without a link is refused with 403 and a clear page; with a link it works', async () => {
    const plain = await strict.agent.get('/auth/xt/login');
    expect(plain.status).toBe(403);
    expect(errorCode(plain.text)).toBe('link_required');
    expect(plain.headers.location).toBeUndefined();
    expect((await connectXt(strict.agent, { link: await linkToken('gina') })).status).toBe(303);
  });
});

describe('the standard OIDC dialect', () => {
  test('a linked login through a real authorization server connects the subject, seen from a second browser', async () => {
    const o = await startOidcHarness({ env: linkEnv() });
    try {
      expect((await connectOidc(o.agent, { link: await linkToken('oidc-user-1') })).status).toBe(303);
      const other = request.agent(o.built.app);
      const direct = await other.get(`/auth/oidc/login?link=${await linkToken('oidc-user-1')}`);
      expect(direct.status).toBe(303);
      expect(sessionJson(await other.get('/api/session')).providers.oidc.connected).toBe(true);
      const bad = await other.get(`/auth/oidc/login?link=${await linkToken('oidc-user-1', { expIn: -600 })}`);
      expect(bad.status).toBe(400);
      expect(errorCode(bad.text)).toBe('link_expired');
    } finally {
      await o.close();
    }
  });
});

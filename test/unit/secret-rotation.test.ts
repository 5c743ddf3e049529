/**
 * Issue 26 §1: every secret is a list, newest first, and adding one at the front moves nothing.
 * The configuration (SESSION_SECRET, SUBJECT_KEYS, LINK_SECRET, `*_FILE`), the keys derived from
 * it (subjects, the logout index, cursors, the sealer) and link kids. The rolling restarts under
 * load are test/integration/rotation-drill.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { linkKid as clientLinkKid } from '../../packages/client/src/link.js';
import { linkKeysFor, linkKid } from '../../src/auth/linkKeys.js';
import { type ConfigError, loadConfig } from '../../src/config/index.js';
import { LogoutIndex } from '../../src/session/connections/logoutIndex.js';
import { Sealer } from '../../src/session/crypto.js';
import { ListCursors } from '../../src/session/listCursor.js';
import { Subjects } from '../../src/session/subjects.js';
import { LogCursors } from '../../src/webhooks/logCursor.js';

const OLD = 'old-session-secret-0123456789abcdefghij';
const NEW = 'new-session-secret-0123456789abcdefghij';
const base = { XT_CLIENT_ID: 'id', XT_CLIENT_SECRET: 'secret' };

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

describe('SESSION_SECRET and SUBJECT_KEYS', () => {
  test('a list, newest first; subject keys come from the OLDEST session secret when SUBJECT_KEYS is unset', () => {
    const one = loadConfig({ ...base, SESSION_SECRET: OLD }).session;
    expect(one).toMatchObject({ secret: OLD, secrets: [OLD], subjectKeys: [OLD] });
    const two = loadConfig({ ...base, SESSION_SECRET: `${NEW}, ${OLD}` }).session;
    expect(two).toMatchObject({ secret: NEW, secrets: [NEW, OLD], subjectKeys: [OLD] });
    const pinned = loadConfig({ ...base, SESSION_SECRET: NEW, SUBJECT_KEYS: `k2-${NEW},${OLD}` }).session;
    expect(pinned.subjectKeys).toEqual([`k2-${NEW}`, OLD]);
  });

  test('each entry at least 32 characters and listed once; never echoed', () => {
    const p = problems({ ...base, SESSION_SECRET: `${NEW},short-one` });
    expect(p).toEqual([expect.stringContaining('SESSION_SECRET (entry #2): must be at least 32 characters')]);
    expect(p.join()).not.toContain('short-one');
    expect(problems({ ...base, SESSION_SECRET: `${NEW},${NEW}` })).toEqual([
      'SESSION_SECRET: the same secret is listed twice',
    ]);
    expect(problems({ ...base, SESSION_SECRET: NEW, SUBJECT_KEYS: 'tiny' })[0]).toMatch(/^SUBJECT_KEYS: must be/);
  });

  test("production refuses the demo's secret and the placeholder anywhere in the list", () => {
    const prod = { ...base, NODE_ENV: 'production', PUBLIC_URL: 'https://c.example' };
    const p = problems({ ...prod, SESSION_SECRET: `${NEW},change-me-to-a-long-random-value-at-least-32-chars` });
    expect(p.join('\n')).toContain('SESSION_SECRET: still the placeholder');
  });

  test('adding a secret at the front moves no subject, index or sealed record; the old one still opens', () => {
    const before = loadConfig({ ...base, SESSION_SECRET: OLD }).session;
    const after = loadConfig({ ...base, SESSION_SECRET: `${NEW},${OLD}` }).session;
    expect(new Subjects(after.subjectKeys).ownerOf('42')).toBe(new Subjects(before.subjectKeys).ownerOf('42'));
    const idx = (s: typeof before) => new LogoutIndex(s.subjectKeys).keyOf('oidc', 'sub', 'u1');
    expect(idx(after)).toBe(idx(before));
    const sealed = Sealer.forSession(before).seal('tokens', 'aad');
    expect(Sealer.forSession(after).open(sealed, 'aad')).toBe('tokens');
    // …and what the new configuration seals is still under the oldest's key: a replica on the old one opens it.
    expect(Sealer.forSession(before).open(Sealer.forSession(after).seal('t', 'a'), 'a')).toBe('t');
    // Dropping the oldest with SUBJECT_KEYS pinned to it: everything sealed before still opens, both ways.
    const pinned = loadConfig({ ...base, SESSION_SECRET: NEW, SUBJECT_KEYS: OLD }).session;
    expect(Sealer.forSession(pinned).open(sealed, 'aad')).toBe('tokens');
    expect(Sealer.forSession(after).open(Sealer.forSession(pinned).seal('t', 'a'), 'a')).toBe('t');
  });

  test('cursors sealed under an older secret open under the list; the newest seals', () => {
    const cursor = new ListCursors([OLD]).seal({ owner: 'sub.abc', provider: 'xt' });
    expect(new ListCursors([NEW, OLD]).open(cursor)).toEqual({ owner: 'sub.abc', provider: 'xt' });
    expect(new ListCursors([NEW]).open(cursor)).toBeUndefined();
    const fresh = new ListCursors([NEW, OLD]).seal({ owner: 'sub.abc', provider: 'xt' });
    expect(new ListCursors([NEW]).open(fresh)).toEqual({ owner: 'sub.abc', provider: 'xt' });
    const log = new LogCursors([OLD]).seal('1700000000000-0123456789ab');
    expect(new LogCursors([NEW, OLD]).open(log)).toBe('1700000000000-0123456789ab');
    expect(new LogCursors([NEW]).open(log)).toBeUndefined();
  });

  test('with SUBJECT_KEYS rotating, the newest names new records and every key finds old ones', () => {
    const subjects = new Subjects([NEW, OLD]);
    expect(subjects.ownerOf('42')).toBe(new Subjects([NEW]).ownerOf('42'));
    expect(subjects.ownersOf('42')).toEqual([new Subjects([NEW]).ownerOf('42'), new Subjects([OLD]).ownerOf('42')]);
    const idx = new LogoutIndex([NEW, OLD]);
    expect(idx.keysOf('oidc', 'sid', 's1')).toEqual([
      new LogoutIndex([NEW]).keyOf('oidc', 'sid', 's1'),
      new LogoutIndex([OLD]).keyOf('oidc', 'sid', 's1'),
    ]);
    expect(idx.tombstonesFor('oidc', { sid: 's1', sub: 'u1' })).toHaveLength(6);
  });

  test('TOKEN_ENCRYPTION_KEYS set later still opens what the derived key sealed, and knows it is stale', () => {
    const derived = Sealer.fromConfig([OLD]).seal('tokens', 'aad');
    const listed = Sealer.fromConfig([OLD], [Buffer.alloc(32, 7).toString('base64')]);
    expect(listed.open(derived, 'aad')).toBe('tokens');
    expect(listed.isStale(derived)).toBe(true);
    expect(listed.isStale(listed.seal('tokens', 'aad'))).toBe(false);
  });
});

describe('LINK_SECRET', () => {
  test('a list, newest first', () => {
    const link = loadConfig({ ...base, SESSION_SECRET: OLD, LINK_SECRET: `${NEW},${OLD}` }).integration.link;
    expect(link).toMatchObject({ secret: NEW, secrets: [NEW, OLD] });
    expect(problems({ ...base, SESSION_SECRET: OLD, LINK_SECRET: `${NEW},x` })[0]).toMatch(
      /^LINK_SECRET \(entry #2\): must be at least 32/,
    );
  });

  test('kid: the client and the app derive the same, and it picks the key', () => {
    expect(linkKid(NEW)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(clientLinkKid(new TextEncoder().encode(NEW))).toBe(linkKid(NEW));
    expect(linkKid(NEW)).not.toBe(linkKid(OLD));
    const header = (h: object) => `${Buffer.from(JSON.stringify(h)).toString('base64url')}.e30.sig`;
    const dec = (keys: Uint8Array[]) => keys.map((k) => new TextDecoder().decode(k));
    expect(dec(linkKeysFor([NEW, OLD], header({ alg: 'HS256', kid: linkKid(OLD) })))).toEqual([OLD]);
    expect(dec(linkKeysFor([NEW, OLD], header({ alg: 'HS256' })))).toEqual([NEW, OLD]);
    expect(linkKeysFor([NEW, OLD], header({ alg: 'HS256', kid: 'unknown' }))).toEqual([]);
    expect(linkKeysFor([NEW, OLD], header({ alg: 'HS256', kid: 7 }))).toEqual([]);
  });
});

describe('*_FILE', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-files-'));
  const file = (name: string, content: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a file's content, its trailing newline trimmed, is the value", () => {
    const c = loadConfig({
      ...base,
      SESSION_SECRET_FILE: file('session', `${NEW},${OLD}\n`),
      LINK_SECRET_FILE: file('link', `${NEW}\r\n`),
      XT_CLIENT_SECRET: undefined,
      XT_CLIENT_SECRET_FILE: file('xt', 'from-a-file'),
    });
    expect(c.session.secrets).toEqual([NEW, OLD]);
    expect(c.integration.link?.secrets).toEqual([NEW]);
    expect(c.xt?.clientSecret).toBe('from-a-file');
  });

  test('both set, an unreadable or empty file: start problems naming the variable and path, never the content', () => {
    const p = problems({
      ...base,
      SESSION_SECRET: NEW,
      SESSION_SECRET_FILE: file('both', OLD),
      LINK_SECRET_FILE: path.join(dir, 'missing'),
      WEBHOOK_URL: 'http://127.0.0.1:9/hook',
      WEBHOOK_SECRET_FILE: file('empty', '\n'),
    });
    expect(p).toEqual(
      expect.arrayContaining([
        'SESSION_SECRET_FILE: SESSION_SECRET is set too; set one or the other',
        `LINK_SECRET_FILE: cannot read ${path.join(dir, 'missing')} (ENOENT)`,
        `WEBHOOK_SECRET_FILE: ${path.join(dir, 'empty')} is empty`,
      ]),
    );
    expect(p.join('\n')).not.toContain(OLD);
  });

  test('a device (/dev/zero), a named pipe or a file over 64 KiB is refused, never read whole nor waited on', () => {
    const p = problems({ ...base, SESSION_SECRET: undefined, SESSION_SECRET_FILE: '/dev/zero' });
    expect(p).toContain('SESSION_SECRET_FILE: cannot read /dev/zero (not a regular file)');
    // A named pipe nobody writes to would block the start forever: refused at once.
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(problems({ ...base, LINK_SECRET_FILE: fifo })).toContain(
      `LINK_SECRET_FILE: cannot read ${fifo} (not a regular file)`,
    );
    const big = file('big', 'x'.repeat(64 * 1024 + 1));
    expect(problems({ ...base, LINK_SECRET_FILE: big })).toContain(
      `LINK_SECRET_FILE: ${big} is larger than 64 KiB; it should hold the secret only`,
    );
    expect(
      loadConfig({ ...base, SESSION_SECRET: OLD, LINK_SECRET_FILE: file('edge', 'y'.repeat(64 * 1024)) }).integration
        .link?.secrets[0],
    ).toHaveLength(64 * 1024);
  });

  test('every secret variable has one', () => {
    const secret = file('generic', 'whsec_' + Buffer.alloc(32, 1).toString('base64'));
    const c = loadConfig({
      ...base,
      SESSION_SECRET: OLD,
      WEBHOOK_URL: 'http://127.0.0.1:9/hook',
      WEBHOOK_SECRET_FILE: secret,
      SERVICE_API_KEYS_FILE: file('keys', `backend:${NEW}`),
      TOKEN_ENCRYPTION_KEYS_FILE: file('tek', Buffer.alloc(32, 2).toString('base64')),
      SUBJECT_KEYS_FILE: file('subjects', OLD),
    });
    expect(c.integration.webhooks?.secrets).toHaveLength(1);
    expect(c.integration.service?.keys[0]?.key).toBe(NEW);
    expect(c.session.tokenEncryptionKeys).toHaveLength(1);
    expect(c.session.subjectKeys).toEqual([OLD]);
  });
});

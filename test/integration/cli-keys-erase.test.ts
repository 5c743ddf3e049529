/**
 * `xt-connect keys rotate` and `subject erase` against the real app on SQLite and on a real
 * redis-server, run in this process (runCli, what the bin's main() runs) with the same environment
 * as the servers, restarted between the steps of a rotation as docs/operations.md says. Checked:
 * what reads under which key afterwards, the progress (lines, and a bar on a terminal), that a
 * run again does nothing more, that reseals racing refreshes lose none, and what an erasure
 * leaves (only its connection.ended webhook); and that a command refuses a store that is not the
 * servers'.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { jest } from '@jest/globals';
import request from 'supertest';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { ROOT } from '../../src/app.js';
import { runCli } from '../../src/cli.js';
import type { Env } from '../../src/config/index.js';
import { connectXt, type Harness, startHarness, TEST_SECRET, tempDir, xtEnv } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { storeEnvs } from '../helpers/redis.js';
import { FAST, hookEnv } from '../helpers/webhooks.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';

jest.setTimeout(90_000);

interface Run {
  code: number;
  out: string[];
  err: string[];
  tty: string;
}

/** The CLI in this process; with `tty`, stderr is a terminal (80 columns) and what is drawn there is kept. */
async function cli(env: Env, args: string[], opts: { tty?: boolean } = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  let drawn = '';
  const tty = opts.tty ? Object.assign(new PassThrough(), { isTTY: true, columns: 80 }) : undefined;
  tty?.on('data', (d: Buffer) => (drawn += d.toString()));
  const code = await runCli(args, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env,
    tty: tty as unknown as NodeJS.WriteStream | undefined,
  });
  return { code, out, err, tty: drawn };
}

/** The CLI as a child process (its log, and so its audit lines, is its stderr). */
function child(env: Env, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let [stdout, stderr] = ['', ''];
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('error', reject);
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const key = () => randomBytes(32).toString('base64');
const secret = () => randomBytes(36).toString('base64url');
const SERVICE_KEY = 'cli-keys-test-service-key-0123456789abcd';
const SUBJECTS = ['rotate-a@example.org', 'rotate-b@example.org', 'rotate-c@example.org'];

const { stores, stop } = storeEnvs(tempDir);
afterAll(stop);

describe.each(stores)('on %s', (_kind, storeEnv) => {
  const [K1, K2, K3] = [key(), key(), key()];
  const [S1, S2] = [secret(), secret()];
  let receiver: WebhookReceiver;
  let base: Env;
  let h: Harness | undefined;
  let xt: XtStandIn;

  /** The server (a harness) restarted with `keys`, as a rolling restart would; the CLI gets the same environment. */
  async function serve(keys: Env): Promise<Env> {
    await h?.close();
    h = await startHarness({ env: { ...base, ...keys }, app: { webhookTiming: FAST }, standIn: xt });
    // The CLI's own log, on this process's stderr: errors only (unreadable records are warned of, on purpose).
    return xtEnv(xt, { ...base, ...keys, LOG_LEVEL: 'error' });
  }

  const listed = async (env: Env) =>
    (await cli(env, ['connections', 'list', '--json'])).out.map((l) => (JSON.parse(l) as { subject: string }).subject);
  const shows = async (env: Env, sub: string) => (await cli(env, ['connections', 'show', sub])).out[0];

  beforeAll(async () => {
    receiver = await startReceiver();
    xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    base = linkEnv({ ...hookEnv(receiver), SERVICE_API_KEYS: `backend:${SERVICE_KEY}`, ...(await storeEnv()) });
    await serve({ TOKEN_ENCRYPTION_KEYS: K1, SUBJECT_KEYS: S1 });
    for (const sub of SUBJECTS)
      expect((await connectXt(request.agent(h!.built.app), { link: await linkToken(sub) })).status).toBe(303);
  });
  afterAll(async () => {
    await h?.close();
    await xt?.close();
    await receiver?.close();
  });

  test('keys rotate, TOKEN_ENCRYPTION_KEYS: every record resealed under the newest key; the old one can go; a run again does nothing', async () => {
    const step2 = await serve({ TOKEN_ENCRYPTION_KEYS: `${K2},${K1}`, SUBJECT_KEYS: S1 });
    const onlyNew = { ...step2, TOKEN_ENCRYPTION_KEYS: K2 };
    expect(await listed(onlyNew)).toEqual([]); // without the rotation, dropping K1 would lose all three

    const run = await cli(step2, ['keys', 'rotate']);
    expect(run).toMatchObject({ code: 0, tty: '' });
    expect(run.out).toEqual([
      'read 3 records: 3 resealed under the newest key, 0 moved to the newest SUBJECT_KEYS key, 0 already current, 0 ended (left to run out), 0 unreadable, 0 busy, 0 gone (ended meanwhile)',
    ]);
    // A line at each tenth passed (3 records: 30%, 60%, 100%), nothing else on stderr.
    expect(run.err).toEqual([
      'keys rotate: 30% (1 of about 3 records; 1 resealed, 0 moved)',
      'keys rotate: 60% (2 of about 3 records; 2 resealed, 0 moved)',
      'keys rotate: 100% (3 of about 3 records; 3 resealed, 0 moved)',
    ]);
    expect((await listed(onlyNew)).sort()).toEqual([...SUBJECTS].sort());

    const again = await cli(step2, ['keys', 'rotate'], { tty: true });
    expect(again.code).toBe(0);
    expect(again.out[0]).toMatch(/^read 3 records: 0 resealed under the newest key, 0 moved .*, 3 already current,/);
    expect(again.tty).toMatch(/keys rotate \[[█░]+\] 100% \| 3\/3 records/);
    expect(again.err).toEqual([]);
    const step3 = await serve({ TOKEN_ENCRYPTION_KEYS: K2, SUBJECT_KEYS: S1 });
    for (const sub of SUBJECTS) expect(await shows(step3, sub)).toBe(`subject ${sub}: connected`);
  });

  test('keys rotate, SUBJECT_KEYS: reads move nothing; the rotation moves every subject to the newest key', async () => {
    const step2 = await serve({ TOKEN_ENCRYPTION_KEYS: K2, SUBJECT_KEYS: `${S2},${S1}` });
    const [a] = SUBJECTS as [string];
    expect(await shows(step2, a)).toBe(`subject ${a}: connected`);
    expect((await cli(step2, ['subject', 'export', a])).code).toBe(0);
    // Those reads moved nothing: under S1 alone the subject is still found.
    expect(await shows({ ...step2, SUBJECT_KEYS: S1 }, a)).toBe(`subject ${a}: connected`);

    const run = await cli(step2, ['keys', 'rotate']);
    expect(run.code).toBe(0);
    expect(run.out[0]).toMatch(
      /^read 3 records: 0 resealed under the newest key, 3 moved to the newest SUBJECT_KEYS key,/,
    );
    for (const sub of SUBJECTS) {
      expect(await shows({ ...step2, SUBJECT_KEYS: S2 }, sub)).toBe(`subject ${sub}: connected`);
      expect(await shows({ ...step2, SUBJECT_KEYS: S1 }, sub)).toBe(`subject ${sub}: not connected`);
    }
    expect((await cli(step2, ['keys', 'rotate'])).out[0]).toMatch(/ 0 moved .*, 3 already current,/);
    await serve({ TOKEN_ENCRYPTION_KEYS: K2, SUBJECT_KEYS: S2 });
  });

  test('keys rotate while the server refreshes the same records: no refresh is lost', async () => {
    const step2 = await serve({ TOKEN_ENCRYPTION_KEYS: `${K3},${K2}`, SUBJECT_KEYS: S2 });
    const ctx = h!.built.ctx;
    let refreshes = 0;
    let stop = false;
    const refresher = (async () => {
      for (let round = 0; round < 200 && !stop; round++)
        for (const sub of SUBJECTS) {
          const owner = ctx.subjects.ownerOf(sub);
          const rec = await ctx.connections.read(owner, 'xt');
          if (rec?.accessToken && (await ctx.connections.refreshAfterRejection(owner, 'xt', rec.accessToken)))
            refreshes += 1;
        }
    })();
    const run = await cli(step2, ['keys', 'rotate']);
    stop = true;
    await refresher;
    expect(run.code).toBe(0);
    expect(refreshes).toBeGreaterThan(0);
    // Under K3 alone each record opens and holds the live refresh token: one more refresh works.
    await serve({ TOKEN_ENCRYPTION_KEYS: K3, SUBJECT_KEYS: S2 });
    for (const sub of SUBJECTS) {
      const owner = h!.built.ctx.subjects.ownerOf(sub);
      const rec = await h!.built.ctx.connections.read(owner, 'xt');
      expect(rec?.status).toBe('active');
      const after = await h!.built.ctx.connections.refreshAfterRejection(owner, 'xt', rec!.accessToken!);
      expect([sub, after?.status, after?.accessToken !== rec!.accessToken]).toEqual([sub, 'active', true]);
    }
  });

  test('subject erase: only its connection.ended is left to deliver; its kept and queued events are gone; --yes is required', async () => {
    const env = await serve({ TOKEN_ENCRYPTION_KEYS: K3, SUBJECT_KEYS: S2 });
    const [a] = SUBJECTS as [string];
    // a's earlier events were delivered and are kept for a replay; a new one waits (the receiver refuses it).
    const erased = 'erase-me@example.org';
    receiver.answer = (arrival) => (JSON.stringify(arrival.body).includes(erased) ? 503 : 204);
    expect((await connectXt(request.agent(h!.built.app), { link: await linkToken(erased) })).status).toBe(303);
    await receiver.waitFor(() => receiver.arrivals.some((x) => JSON.stringify(x.body).includes(erased)), 10_000);

    expect((await cli(env, ['subject', 'erase', erased])).code).toBe(2);
    const run = await child(env, ['subject', 'erase', erased, '--yes']);
    expect(run).toMatchObject({
      code: 0,
      stdout: 'erased: ended its connections to xt; removed 1 other webhook event; 1 connection.ended event queued\n',
    });
    const audit = run.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.map((l) => l.event)).toEqual(['disconnected', 'subject_erased']);
    expect(audit[1]).toMatchObject({ owner: expect.stringMatching(/^[\w-]{22}$/) as unknown, count: 1 });
    expect(run.stderr).not.toContain(erased);
    for (const s of h!.secrets()) if (s) expect(run.stdout + run.stderr).not.toContain(s);

    receiver.answer = () => 204;
    await receiver.waitFor(
      () => receiver.accepted.some((x) => x.body.type === 'connection.ended' && x.body.data.subject === erased),
      10_000,
      "the erased subject's connection.ended",
    );
    expect(receiver.accepted.filter((x) => x.body.data.subject === erased).map((x) => x.body.type)).toEqual([
      'connection.ended',
    ]);
    expect(await shows(env, erased)).toBe(`subject ${erased}: not connected`);

    // Kept delivered events: the erased subject's go, another subject's stay replayable.
    const kept = 'kept-then-erased@example.org';
    expect((await connectXt(request.agent(h!.built.app), { link: await linkToken(kept) })).status).toBe(303);
    const keptOf = (sub: string) => receiver.accepted.filter((x) => x.body.data.subject === sub).map((x) => x.id);
    await receiver.waitFor(() => keptOf(kept).length === 1, 10_000, 'connection.created delivered');
    const replay = async (ids: string[]) => {
      const since = new Date(Date.now() - 600_000).toISOString();
      const run = await cli(env, [
        'webhooks',
        'replay',
        '--since',
        since,
        ...ids.flatMap((id) => ['--id', id]),
        '--json',
      ]);
      return (JSON.parse(run.out.join('\n')) as { replayed: number }).replayed;
    };
    const erase = await cli(env, ['subject', 'erase', kept, '--yes']);
    // At least its delivered connection.created (on Redis the count was at times 2 for it: see the note).
    expect(erase.out[0]).toMatch(
      /^erased: ended its connections to xt; removed [1-9] other webhook events?; 1 connection.ended event queued$/,
    );
    expect(await replay(keptOf(kept))).toBe(0);
    expect(await replay(keptOf(a))).toBe(keptOf(a).length);
    // Once its connection.ended is delivered (and kept for a replay), a second run removes that too.
    await receiver.waitFor(() => keptOf(kept).length === 2, 10_000, 'connection.ended delivered');
    expect((await cli(env, ['subject', 'erase', kept, '--yes'])).out).toEqual([
      'erased: it held no connection; removed 1 other webhook event; 0 connection.ended events queued',
    ]);
    expect(await replay(keptOf(kept))).toBe(0);
  });
});

test("a command refuses a store that is not the servers': a DATA_DIR with no database (not created), a memory store", async () => {
  const missing = path.join(tempDir(), 'no-such-dir');
  const env = xtEnv({ url: 'http://127.0.0.1:9' }, { SESSION_STORE: 'sqlite', DATA_DIR: missing });
  const run = await cli(env, ['connections', 'list']);
  expect(run).toMatchObject({ code: 1, out: [] });
  expect(run.err).toEqual([
    `no session database at ${path.join(missing, 'xt-connect.sqlite')}: set DATA_DIR to the servers' data directory (a command never creates one)`,
  ]);
  expect(fs.existsSync(missing)).toBe(false);
  const memory = await cli(xtEnv({ url: 'http://127.0.0.1:9' }, { SESSION_STORE: 'memory' }), ['keys', 'rotate']);
  expect(memory.code).toBe(1);
  expect(memory.err[0]).toMatch(/^SESSION_STORE=memory keeps the sessions in the server process/);
});

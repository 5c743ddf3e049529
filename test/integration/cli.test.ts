/**
 * The operator CLI (src/cli.ts) as a child process (tsx), against the real app on SQLite and on a
 * real redis-server: the app (a harness on the same DATA_DIR or Redis) connects subjects through
 * links at the XT.COM stand-in and delivers webhooks to a verifying receiver; each command then runs
 * with the same environment. Checked: output, exit codes, that the servers' worker delivers what
 * the CLI queued, and that no secret or token reaches any output, nor a subject stderr (the log).
 */
import { spawn } from 'node:child_process';
import { jest } from '@jest/globals';
import path from 'node:path';
import { ROOT } from '../../src/app.js';
import { runCli } from '../../src/cli.js';
import type { Env } from '../../src/config/index.js';
import { connectXt, type Harness, startHarness, tempDir, xtEnv } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { storeEnvs } from '../helpers/redis.js';
import { FAST, hookEnv } from '../helpers/webhooks.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhookReceiver.js';

jest.setTimeout(60_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every run of the CLI, for the scans at the end. */
const runs: Run[] = [];

/** The CLI as its own process (tsx): for what only a process shows (its exit code, a store it cannot reach). */
function child(env: Env, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), ...args], {
      cwd: ROOT, // where tsx resolves (the CLI never loads a .env)
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('error', reject);
    p.once('exit', (code) => {
      const run = { code, stdout, stderr };
      runs.push(run);
      resolve(run);
    });
  });
}

/**
 * The CLI in this process, as main() runs it, its log and audit lines caught as its stderr would
 * hold them (a child process per command cost this file over a minute of tsx start-ups).
 */
async function cli(env: Env, ...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const log = { write: (line: string) => err.push(line.endsWith('\n') ? line.slice(0, -1) : line) };
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), env, log });
  const run = { code, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.map((l) => `${l}\n`).join('') };
  runs.push(run);
  return run;
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const SERVICE_KEY = 'cli-test-service-key-0123456789abcdef01';

test('check-config: 0 with a summary and no secret; 1 with the list of problems a failed start prints', async () => {
  const env = xtEnv(
    { url: 'http://127.0.0.1:9' },
    linkEnv({ SERVICE_API_KEYS: `backend:${SERVICE_KEY}`, DATA_DIR: tempDir() }),
  );
  const ok = await child(env, 'check-config');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(
    /^configuration OK\nNODE_ENV=test; public URL http:\/\/127\.0\.0\.1:3999; store memory; providers xt; links on; service API keys backend; webhooks off/,
  );
  for (const value of Object.values(env))
    if (value && value.length >= 16 && /secret|key/i.test(value)) expect(ok.stdout + ok.stderr).not.toContain(value);

  const bad = await cli({ ...env, SESSION_SECRET: 'short', PROVIDER_TIMEOUT: 'soon' }, 'check-config');
  expect(bad.code).toBe(1);
  expect(bad.stdout).toBe('');
  expect(bad.stderr).toContain('Invalid configuration:\n');
  expect(bad.stderr).toMatch(/ {2}- SESSION_SECRET: /);
  expect(bad.stderr).toMatch(/ {2}- PROVIDER_TIMEOUT: /);
  expect(bad.stderr).not.toContain(SERVICE_KEY);
});

test('a store that cannot be reached: 1, the reason said, its password not', async () => {
  const env = xtEnv(
    { url: 'http://127.0.0.1:9' },
    { SESSION_STORE: 'redis', REDIS_URL: 'redis://:redis-password-0123456789@127.0.0.1:1' },
  );
  const res = await child(env, 'connections', 'list');
  expect(res.code).toBe(1);
  expect(res.stdout).toBe('');
  expect(res.stderr).toContain('xt-connect connections list: failed: cannot connect to Redis');
  expect(res.stderr).not.toContain('redis-password-0123456789');
});

test('usage: --help is 0; an unknown command, an unknown option, a missing or bad argument are 2', async () => {
  const env = xtEnv({ url: 'http://127.0.0.1:9' });
  const help = await child(env, '--help'); // one as a child: the entry runs main() and exits with its code
  expect(help.code).toBe(0);
  for (const name of [
    'check-config',
    'connections list',
    'connections show',
    'connections end',
    'webhooks deliveries',
    'webhooks replay',
    'subject export',
    'subject erase',
    'keys rotate',
  ])
    expect(help.stdout).toContain(name);
  expect((await cli(env, 'connections', 'end', '--help')).stdout).toMatch(
    /^Usage: xt-connect connections end <sub> \[provider\]/,
  );
  expect((await child(env, 'frobnicate')).code).toBe(2);
  expect((await cli(env)).code).toBe(2);
  expect((await cli(env, 'connections')).code).toBe(2);
  const unknown = await cli(env, 'connections', 'list', '--colour');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('Usage: xt-connect connections list');
  for (const argv of [
    ['connections', 'show'],
    ['connections', 'show', 'a/b'],
    ['connections', 'end', 'a', 'b', 'c'],
    ['connections', 'list', '--state', 'gone'],
    ['webhooks', 'replay'],
    ['webhooks', 'replay', '--since', 'yesterday'],
    ['webhooks', 'replay', '--since', '2026-01-02T00:00:00Z', '--until', '2026-01-01T00:00:00Z'],
    ['webhooks', 'replay', '--since', '2026-01-01T00:00:00Z', '--id', 'not-an-id'],
    ['webhooks', 'deliveries', '--limit', '0'],
    ['webhooks', 'deliveries', '--status', 'lost'],
    ['subject', 'export'],
  ])
    expect([argv, (await cli(env, ...argv)).code]).toEqual([argv, 2]);
});

const { stores, stop } = storeEnvs(tempDir);
afterAll(stop);

describe.each(stores)('on %s', (_kind, storeEnv) => {
  const A = 'cli-person-a@example.org';
  const B = 'cli-person-b@example.org';
  let h: Harness;
  let receiver: WebhookReceiver;
  let env: Env;
  const since = new Date(Date.now() - 1000).toISOString();

  beforeAll(async () => {
    receiver = await startReceiver();
    const extra = linkEnv({ ...hookEnv(receiver), SERVICE_API_KEYS: `backend:${SERVICE_KEY}`, ...(await storeEnv()) });
    h = await startHarness({ env: extra, app: { webhookTiming: FAST } });
    env = xtEnv(h.xt, extra);
    for (const sub of [A, B]) {
      const agent = (await import('supertest')).default.agent(h.built.app);
      expect((await connectXt(agent, { link: await linkToken(sub) })).status).toBe(303);
    }
    await receiver.waitFor(() => receiver.accepted.length === 2, 10_000, 'the two connection.created');
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
    const secrets = h.secrets();
    for (const run of runs.splice(0)) {
      for (const s of secrets) if (s) expect(run.stdout + run.stderr).not.toContain(s);
      expect(run.stderr).not.toContain(A);
      expect(run.stderr).not.toContain(B);
    }
  });

  test('connections list: every connection, as a table or one JSON object a line; filters', async () => {
    const json = await cli(env, 'connections', 'list', '--json');
    expect(json.code).toBe(0);
    const items = jsonLines(json.stdout);
    expect(items.map((i) => i.subject).sort()).toEqual([A, B]);
    expect(
      items.every((i) => i.state === 'connected' && i.provider === 'xt' && typeof i.connectionId === 'string'),
    ).toBe(true);

    const table = await cli(env, 'connections', 'list', '--state', 'connected', '--provider', 'xt');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^SUBJECT +PROVIDER +STATE/);
    expect(table.stdout).toContain(A);
    expect(table.stdout).toMatch(/\n2 connections\n$/);
    expect((await cli(env, 'connections', 'list', '--state', 'ended')).stdout).toMatch(/\n0 connections\n$/);
    expect((await cli(env, 'connections', 'list', '--provider', 'oidc')).code).toBe(2);
  });

  test('connections show: what GET /v1/subjects/{sub}/connections answers', async () => {
    const res = await cli(env, 'connections', 'show', A, '--json');
    expect(res.code).toBe(0);
    const view = JSON.parse(res.stdout) as {
      subject: string;
      connected: boolean;
      providers: { xt: Record<string, unknown> };
    };
    expect(view.subject).toBe(A);
    expect(view.connected).toBe(true);
    expect(Object.keys(view.providers.xt).sort()).toEqual([
      'accessTokenExpiresAt',
      'connected',
      'connectionId',
      'lastRefreshedAt',
      'reason',
      'refreshTokenExpiresAt',
      'scope',
      'userId',
    ]);
    const lines = await cli(env, 'connections', 'show', A);
    expect(lines.stdout).toMatch(new RegExp(`^subject ${A}: connected\\n  xt: connected, conn_`));
    expect((await cli(env, 'connections', 'show', 'nobody-here')).stdout).toContain(
      'xt: not connected (not_connected)',
    );
  });

  test("webhooks deliveries: the log, newest first, never a subject; replay: the servers' worker sends them again", async () => {
    const log = await cli(env, 'webhooks', 'deliveries', '--json', '--status', 'delivered');
    expect(log.code).toBe(0);
    const attempts = jsonLines(log.stdout);
    expect(attempts.map((a) => a.eventId).sort()).toEqual(receiver.accepted.map((a) => a.id).sort());
    expect(attempts.every((a) => a.type === 'connection.created' && a.statusCode === 204)).toBe(true);
    expect(log.stdout).not.toContain(A);
    expect((await cli(env, 'webhooks', 'deliveries', '--limit', '1')).stdout).toMatch(/\n1 attempt\n$/);

    const first = receiver.accepted[0]!.id;
    const replay = await cli(env, 'webhooks', 'replay', '--since', since, '--id', first, '--json');
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toEqual({ replayed: 1, eventIds: [first] });
    expect(jsonLines(replay.stderr).some((l) => l.event === 'webhooks_replayed' && l.count === 1)).toBe(true);
    await receiver.waitFor(() => receiver.acceptedCount.get(first) === 2, 10_000, 'the replayed event');
    const none = await cli(env, 'webhooks', 'replay', '--since', since, '--until', since);
    expect(none.stdout).toMatch(/^replayed 0 events/);
  });

  test('subject export: the record opened, tokens redacted, its times; what is not included', async () => {
    const res = await cli(env, 'subject', 'export', A);
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout) as {
      subject: string;
      connections: { xt: Record<string, unknown> };
      bindings: { endedAt: string | null };
      auditOwnerHash: string;
      notIncluded: string[];
    };
    expect(doc.subject).toBe(A);
    expect(doc.connections.xt).toMatchObject({
      provider: 'xt',
      status: 'active',
      subject: A,
      accessToken: '[redacted]',
      refreshToken: '[redacted]',
    });
    expect(doc.connections.xt.refreshExpiresAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(doc.bindings.endedAt).toBeNull();
    expect(doc.auditOwnerHash).toMatch(/^[\w-]{22}$/);
    expect(doc.notIncluded.length).toBeGreaterThan(0);
  });

  test('connections end: one provider, then the whole subject; their webhooks and audit lines', async () => {
    const one = await cli(env, 'connections', 'end', A, 'xt');
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('ended the connection to xt\n');
    expect(jsonLines(one.stderr).some((l) => l.event === 'disconnected' && l.reason === 'revoked_by_service')).toBe(
      true,
    );
    const again = await cli(env, 'connections', 'end', A, 'xt');
    expect(again.stdout).toBe('no connection to xt was held; nothing to end\n');

    const all = await cli(env, 'connections', 'end', B);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe("ended the subject's browser bindings; ended its connections to xt\n");
    expect(jsonLines(all.stderr).some((l) => l.event === 'subject_ended')).toBe(true);
    await receiver.waitFor(
      () => receiver.accepted.filter((a) => a.body.type === 'connection.ended').length === 2,
      10_000,
      'the two connection.ended',
    );
    const ended = receiver.accepted.filter((a) => a.body.type === 'connection.ended');
    expect(ended.map((a) => a.body.data.subject).sort()).toEqual([A, B]);
    expect(ended.every((a) => a.body.data.reason === 'revoked_by_service')).toBe(true);
    expect((await cli(env, 'connections', 'list')).stdout).toMatch(/\n0 connections\n$/);
    const exported = JSON.parse((await cli(env, 'subject', 'export', B)).stdout) as {
      connections: { xt: unknown };
      bindings: { endedAt: string | null };
    };
    expect(exported.connections.xt).toBeNull();
    expect(exported.bindings.endedAt).not.toBeNull();
  });
});

/**
 * One log stream: everything goes through pino as JSON (scrubbed), handled errors are one warn
 * line without a stack, and only a real 500 carries one. Nothing else writes to the console.
 */
import { type Harness, startHarness, authorizeAtStandIn } from '../helpers/harness.js';
import { stubProvider } from '../helpers/providers.js';

let h: Harness;
let consoleCalls: string[];
const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const originals = Object.fromEntries(METHODS.map((m) => [m, console[m].bind(console)])) as Record<
  (typeof METHODS)[number],
  (...args: unknown[]) => void
>;

beforeEach(() => {
  consoleCalls = [];
  for (const m of METHODS) console[m] = (...args: unknown[]) => void consoleCalls.push(`${m}: ${String(args[0])}`);
});
afterEach(async () => {
  for (const m of METHODS) console[m] = originals[m];
  await h?.close();
});

const failures = (h: Harness) =>
  h.logs.records().filter((r) => r.msg === 'request failed' || r.msg === 'unexpected error');

test('a handled error is one warn line without a stack', async () => {
  h = await startHarness();
  expect((await h.agent.get('/auth/xt/callback?code=x&state=y')).status).toBe(400);
  const lines = failures(h);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: 40, code: 'login_expired', status: 400 });
  expect(JSON.stringify(lines[0])).not.toMatch(/stack|at .*\.ts:\d+/);
  expect(consoleCalls).toEqual([]);
});

test('a handled provider failure (502): the access line is a warn without an error object, the failure one warn line', async () => {
  h = await startHarness({ xt: { hangMs: 50 } });
  h.xt.failNext('http500', 1, 'authorization_code');
  const login = await h.agent.get('/auth/xt/login');
  const res = await h.agent.get(await authorizeAtStandIn(login.headers.location!));
  expect(res.status).toBe(502);
  const lines = h.logs
    .records()
    .filter((r) => (r.res as { statusCode?: number } | undefined)?.statusCode === 502 || r.msg === 'request failed');
  expect(lines.map((l) => [l.msg, l.level])).toEqual([
    ['request failed', 40],
    ['request completed', 40],
  ]);
  expect(JSON.stringify(lines)).not.toMatch(/"err"|stack/);
  expect(consoleCalls).toEqual([]);
});

test('a real 500 is logged at error level with its stack, and the page shows none', async () => {
  const broken = stubProvider({
    id: 'broken',
    checkAvailability: () => {
      throw new TypeError('a bug in a provider module');
    },
  });
  h = await startHarness({
    env: { NODE_ENV: 'production', PUBLIC_URL: 'http://127.0.0.1:3999' },
    app: { providers: [broken] },
  });
  const res = await h.agent.get('/auth/broken/login');
  expect(res.status).toBe(500);
  expect(res.text).toContain('data-error="internal"');
  expect(res.text).not.toContain('a bug in a provider module');
  const lines = failures(h);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: 50, msg: 'unexpected error' });
  expect(JSON.stringify(lines[0])).toContain('a bug in a provider module');
  expect(JSON.stringify(lines[0])).toMatch(/stack/);
  expect(consoleCalls).toEqual([]);
});

test('forwarded headers without TRUST_PROXY: one clear warning per process, and no library output', async () => {
  h = await startHarness();
  for (let i = 0; i < 3; i++) {
    await h.agent.get('/auth/xt/login').set('X-Forwarded-For', `203.0.113.${i}`);
    await h.agent.get('/auth/xt/login').set('Forwarded', `for=203.0.113.${i}`);
  }
  const warnings = h.logs.records().filter((r) => typeof r.msg === 'string' && r.msg.includes('TRUST_PROXY is off'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ level: 40 });
  expect(String(warnings[0]!.msg)).toMatch(/TRUST_PROXY=1/);
  expect(consoleCalls).toEqual([]); // express-rate-limit's ValidationError stacks went to the console before
});

test('with TRUST_PROXY set, forwarded headers are expected: no warning', async () => {
  h = await startHarness({ env: { TRUST_PROXY: '1' } });
  await h.agent.get('/auth/xt/login').set('X-Forwarded-For', '203.0.113.9');
  expect(
    h.logs.records().filter((r) => typeof r.msg === 'string' && r.msg.includes('TRUST_PROXY is off')),
  ).toHaveLength(0);
});

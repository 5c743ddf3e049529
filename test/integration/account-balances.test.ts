/**
 * The account page's balances: kept BALANCES_FRESH_MS per person, and one call to XT.COM for all
 * the views that find nothing fresh at the same moment (a reload storm, many tabs). Without the
 * sharing, each view called XT.COM, queued behind the person's rate limit and waited.
 */
import { testClock } from '../helpers/clock.js';
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';
import { BALANCES_FRESH_MS } from '../../src/routes/pages.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const balanceCalls = () => h.xt.apiLog().filter((e) => e.path === '/spot/v4/balances').length;

test('views at the same moment share one call; a fresh value is reused; a stale one is fetched once again', async () => {
  const clock = testClock();
  // XT.COM answers in 300 ms, so every view arrives while the first call is in flight.
  h = await startHarness({ xt: { now: clock.now, apiDelayMs: 300 }, app: { now: clock.now } });
  await connectXt(h.agent);
  const views = await Promise.all(Array.from({ length: 12 }, () => h.agent.get('/account')));
  for (const v of views) expect([v.status, v.text.includes('USDT')]).toEqual([200, true]);
  expect(balanceCalls()).toBe(1);

  clock.advance(BALANCES_FRESH_MS - 1000);
  await h.agent.get('/account');
  expect(balanceCalls()).toBe(1); // still fresh

  clock.advance(1000);
  const again = await Promise.all(Array.from({ length: 12 }, () => h.agent.get('/account')));
  for (const v of again) expect(v.text.includes('USDT')).toBe(true);
  expect(balanceCalls()).toBe(2);
});

test('a failed call is shared by the views that waited on it, and not kept: the next view asks again', async () => {
  h = await startHarness({ xt: { apiDelayMs: 300 } });
  await connectXt(h.agent);
  h.xt.failApiNext('http500');
  const views = await Promise.all(Array.from({ length: 6 }, () => h.agent.get('/account')));
  for (const v of views) expect([v.status, v.text.includes('USDT')]).toEqual([200, false]);
  expect(balanceCalls()).toBe(1);
  const next = await h.agent.get('/account');
  expect(next.text).toContain('USDT');
  expect(balanceCalls()).toBe(2);
});

test("one person's shared call is never another's: two people at once each get their own balances", async () => {
  h = await startHarness();
  const other = (await import('supertest')).default.agent(h.built.app);
  await connectXt(h.agent, { asUser: '10000001' });
  await connectXt(other, { asUser: '10000002' });
  const [a, b] = await Promise.all([h.agent.get('/account'), other.get('/account')]);
  expect(a.text).toContain('10000001');
  expect(b.text).toContain('10000002');
  expect(a.text).not.toContain('10000002');
  expect(balanceCalls()).toBe(2);
});

test("the balances are written in the page's locale, with XT.COM's decimals kept", async () => {
  h = await startHarness();
  await connectXt(h.agent);
  const cells = async (lang: string) =>
    [...(await h.agent.get('/account').set('Cookie', `lang=${lang}`)).text.matchAll(/<td class="num">([^<]*)<\/td>/g)]
      .map((m) => m[1])
      .slice(0, 4);
  // XT.COM's stand-in: USDT 8200.00 available, 0 frozen; BTC 0.0201 available.
  expect(await cells('en')).toEqual(['8,200.00', '0', '0.0201', expect.any(String)]);
  expect(await cells('ru')).toEqual(['8\u00a0200,00', '0', '0,0201', expect.any(String)]);
  expect(await cells('es')).toEqual(['8200,00', '0', '0,0201', expect.any(String)]); // Spanish groups from 10 000
});

/**
 * The keeper (issue 25 §1–2) against a real SQLite file and a real redis-server, with a clock the
 * test moves: two replicas refresh each due connection exactly once; a sliding provider's
 * connections are kept alive, a fixed one's get `connection.expiring` once, across restarts.
 */
import { AppError } from '../../src/errors.js';
import type { ExpiringEventBody } from '../../src/session/connections/events.js';
import type { Stores } from '../../src/store/types.js';
import { Metrics } from '../../src/shared/metrics.js';
import { testClock } from '../helpers/clock.js';
import { drainEvents } from '../helpers/connections.js';
import { tempDir } from '../helpers/harness.js';
import { DAY, type StoreKind, connectSubject, keeperProvider, openStores, replica, sealer } from '../helpers/keeper.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { BACKFILL_MARK } from '../../src/session/connections/keeperBackfill.js';

let redis: RedisServer | undefined;
afterAll(async () => {
  await redis?.stop();
});

const kinds: StoreKind[] = ['sqlite', 'redis'];

describe.each(kinds)('the keeper on %s', (kind) => {
  const opened: Stores[] = [];
  let place: string;
  const open = async (now: () => number, at = place) => {
    if (kind === 'redis') redis ??= await startRedis();
    const s = await openStores(kind, at, now, redis?.url);
    opened.push(s);
    return s;
  };
  beforeEach(() => {
    place = kind === 'sqlite' ? tempDir() : `keeper-${Date.now()}-${Math.random()}:`;
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  test('two replicas: each due connection is refreshed exactly once, none that is not due', async () => {
    const clock = testClock();
    const kp = keeperProvider(clock.now, 'sliding');
    const metrics = new Metrics({ defaults: false });
    const [a, b] = [
      replica(await open(clock.now), kp, clock.now, {}, metrics),
      replica(await open(clock.now), kp, clock.now, {}, metrics),
    ];
    for (let i = 0; i < 40; i++) await connectSubject(i % 2 ? a.connections : b.connections, `due${i}`, 10, clock.now);
    for (let i = 0; i < 10; i++) await connectSubject(a.connections, `later${i}`, 100, clock.now);
    const passes = await Promise.all([a.keeper.pass(), b.keeper.pass(), a.keeper.pass(), b.keeper.pass()]);
    await Promise.all([a.keeper.pass(), b.keeper.pass()]);
    expect(passes.reduce((n, s) => n + s.refreshed, 0)).toBe(40);
    for (let i = 0; i < 40; i++) expect(kp.calls.get(`rt-due${i}`)).toBe(1);
    for (let i = 0; i < 10; i++) expect(kp.calls.has(`rt-later${i}`)).toBe(false);
    const counted = (await metrics.refreshes.get()).values.find((v) => v.labels.outcome === 'keepalive');
    expect(counted?.value).toBe(40);
    const rec = await a.connections.read('sub.due3', 'xt');
    expect(rec).toMatchObject({ refreshToken: 'rt-due3+r', slides: true });
    expect(rec!.refreshExpiresAt).toBeGreaterThan(clock.now() + 170 * DAY);
    // The next interval: nothing is due any more.
    clock.advance(60_000);
    expect((await a.keeper.pass()).refreshed + (await b.keeper.pass()).refreshed).toBe(0);
    console.log(
      `keeper on ${kind}, two replicas: partitions worked ${JSON.stringify(passes.map((p) => p.partitions))}`,
    );
  }, 60_000);

  test('a sliding provider is kept alive; a fixed one gets connection.expiring once, across restarts', async () => {
    const clock = testClock();
    const sliding = keeperProvider(clock.now, 'sliding');
    const fixed = keeperProvider(clock.now, 'fixed');
    // Two deployments (one provider each): the sliding one's data elsewhere.
    const elsewhere = kind === 'sqlite' ? tempDir() : `${place}sliding:`;
    const s = replica(await open(clock.now, elsewhere), sliding, clock.now);
    const f = replica(await open(clock.now), fixed, clock.now);
    await connectSubject(s.connections, 'slides', 20, clock.now);
    await connectSubject(f.connections, 'fixed', 20, clock.now);
    await s.keeper.pass();
    await f.keeper.pass();
    expect(sliding.calls.size + fixed.calls.size).toBe(0); // 20 days left: not due
    clock.advance(7 * DAY); // 13 days left: due; the fixed provider's answer tells it does not slide
    await s.keeper.pass();
    await f.keeper.pass();
    expect(sliding.calls.get('rt-slides')).toBe(1);
    expect(fixed.calls.get('rt-fixed')).toBe(1);
    expect(await f.connections.read('sub.fixed', 'xt')).toMatchObject({ slides: false });
    clock.advance(7 * DAY); // 6 days left for the fixed one: the warning, and no second refresh
    for (let i = 0; i < 3; i++) await f.keeper.pass();
    expect(fixed.calls.get('rt-fixed')).toBe(1);
    // A restart: new stores and a new keeper on the same data; two more replicas' passes.
    const again = [replica(await open(clock.now), fixed, clock.now), replica(await open(clock.now), fixed, clock.now)];
    clock.advance(60_000);
    await Promise.all(again.map((r) => r.keeper.pass()));
    const events = (await drainEvents(opened[1]!.outbox, sealer)).filter((e) => e.body.type !== 'connection.created');
    expect(events).toHaveLength(1);
    const body = events[0]!.body as unknown as ExpiringEventBody;
    expect(body).toMatchObject({
      type: 'connection.expiring',
      data: { subject: 'fixed', provider: 'xt', reason: 'not_sliding' },
    });
    expect(Date.parse(body.data.expiresAt)).toBeGreaterThan(clock.now());
    expect(await s.connections.read('sub.slides', 'xt')).toMatchObject({ slides: true, status: 'active' });
  }, 60_000);

  test('refresh tokens that live shorter than the window: refreshed about twice a life, not at every pass, and no warning', async () => {
    const clock = testClock();
    const short = keeperProvider(clock.now, 'short');
    const r = replica(await open(clock.now), short, clock.now);
    await connectSubject(r.connections, 'short', 7, clock.now);
    await r.keeper.pass(); // 7 days left, inside the 14-day window: refreshed, and the life learned (7 days)
    expect(short.calls.get('rt-short')).toBe(1);
    for (let day = 0; day < 14; day++) {
      clock.advance(DAY / 2);
      await r.keeper.pass();
      await r.keeper.pass();
    }
    // 7 more days, two passes every half day: a refresh each time half the life (3.5 days) is left,
    // so 2 more (at every pass, as before, it would be 28).
    expect([...short.calls.values()].reduce((a, b) => a + b, 0)).toBe(3);
    expect(await r.connections.read('sub.short', 'xt')).toMatchObject({ status: 'active', slides: true });
    const warned = (await drainEvents(opened[0]!.outbox, sealer)).filter(
      (e) => e.body.type === ('connection.expiring' as string),
    );
    expect(warned).toEqual([]); // always inside EXPIRY_WARNING, but kept alive: nothing to warn about
  }, 60_000);

  test('a pass that used up its XT.COM budget is followed by another within the budget window, not KEEPALIVE_INTERVAL later', async () => {
    const clock = testClock();
    const kp = keeperProvider(clock.now, 'sliding');
    // The guard's keeper slot: 3 refreshes per 100 ms window (a real one is KEEPALIVE_SHARE a minute).
    let window = 0;
    let used = 0;
    const xtSlot = async () => {
      const w = Math.floor(Date.now() / 100);
      if (w !== window) [window, used] = [w, 0];
      if (++used > 3) throw new AppError('rate_limited');
    };
    const r = replica(await open(clock.now), kp, clock.now, { intervalMs: 3_600_000, budgetRetryMs: 150, xtSlot });
    for (let i = 0; i < 10; i++) await connectSubject(r.connections, `b${i}`, 10, clock.now);
    r.keeper.start();
    try {
      const until = Date.now() + 10_000;
      while (kp.calls.size < 10 && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
    } finally {
      await r.keeper.stop();
    }
    expect(kp.calls.size).toBe(10); // within seconds, though the interval is an hour
    expect([...kp.calls.values()].every((n) => n === 1)).toBe(true);
  }, 30_000);

  test('KEEPALIVE off: no refresh, the warning still comes (keepalive_off); failing refreshes warn refresh_failing', async () => {
    const clock = testClock();
    const kp = keeperProvider(clock.now, 'sliding');
    const off = replica(await open(clock.now), kp, clock.now, { enabled: false });
    await connectSubject(off.connections, 'off', 6, clock.now);
    await off.keeper.pass();
    expect(kp.calls.size).toBe(0);
    const failing = keeperProvider(clock.now, 'failing');
    const on = replica(await open(clock.now), failing, clock.now);
    await connectSubject(on.connections, 'failing', 5, clock.now);
    clock.advance(60_000);
    await on.keeper.pass();
    expect(failing.calls.get('rt-failing')).toBe(1);
    const events = (await drainEvents(opened[0]!.outbox, sealer)).filter(
      (e) => e.body.type === ('connection.expiring' as string),
    );
    const reasons = events.map((e) => (e.body as unknown as ExpiringEventBody).data.reason).sort();
    expect(reasons).toEqual(['keepalive_off', 'refresh_failing']);
  }, 60_000);

  test('records stored before the index are indexed once by the backfill, then kept alive', async () => {
    const clock = testClock();
    const kp = keeperProvider(clock.now, 'sliding');
    const stores = await open(clock.now);
    const a = replica(stores, kp, clock.now);
    for (let i = 0; i < 5; i++) await connectSubject(a.connections, `old${i}`, 10, clock.now);
    // As an earlier version stored them: the same records, in no index.
    const all = await stores.authState.pageConnections({ ownerPrefix: 'sub.', limit: 100 });
    for (const c of all)
      await stores.authState.replaceConnection(c.owner, c.provider, c.value, DAY, c.value, undefined, null);
    const parts = Array.from({ length: stores.authState.duePartitions }, (_, partition) => partition);
    const due = async () =>
      (
        await Promise.all(
          parts.map((partition) => stores.authState.dueConnections({ before: Infinity, limit: 100, partition })),
        )
      ).flat();
    expect(await due()).toHaveLength(0);
    expect((await a.keeper.pass()).refreshed).toBe(5);
    for (let i = 0; i < 5; i++) expect(kp.calls.get(`rt-old${i}`)).toBe(1);
    expect(await due()).toHaveLength(5); // indexed at their new expiry
    expect(await stores.authState.hasMark(BACKFILL_MARK)).toBe(true);
  }, 60_000);
});

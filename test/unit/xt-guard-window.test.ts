/**
 * The guard's sliding window, in process (store/slidingLog.ts) and as the guard uses it
 * (services/xtGuard.ts): never more than the limit in any window, a wait hint that is right, holds.
 * The Redis version and the whole path to the stand-in: test/integration/xt-guard.test.ts.
 */
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { MemorySlidingLog } from '../../src/store/slidingLog.js';
import { SlidingXtGuard, WINDOW_MARGIN_MS, budgetOf, kindOf } from '../../src/services/xtGuard.js';
import { maxInWindow } from '../helpers/window.js';

test('maxInWindow counts what it should', () => {
  expect(maxInWindow([0, 999, 1000, 1001], 1000)).toBe(3);
  expect(maxInWindow([0, 1000, 2000], 1000)).toBe(1);
  expect(maxInWindow([], 1000)).toBe(0);
});

test('kindOf: the balance endpoints are asset calls', () => {
  expect(kindOf('/spot/v4/balance')).toBe('asset');
  expect(kindOf('/spot/v4/balances')).toBe('asset');
  expect(kindOf('/spot/v4/balances?currencies=btc')).toBe('asset');
  expect(kindOf('/spot/v4/open-order')).toBe('other');
  expect(kindOf('/spot/v4/order/1')).toBe('other');
});

describe('MemorySlidingLog', () => {
  test('property: no window ever holds more than its limit, and the wait hint is exact', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 50, max: 2000 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.constantFrom('a', 'b')), {
          minLength: 1,
          maxLength: 120,
        }),
        async (limit, windowMs, steps) => {
          let now = 0;
          const log = new MemorySlidingLog(() => now);
          const admitted: Record<string, number[]> = { a: [], b: [], all: [] };
          for (const [dt, who] of steps) {
            now += dt;
            const windows = [
              { key: who, limit, windowMs },
              { key: 'all', limit: limit + 1, windowMs: windowMs * 2 },
            ];
            const r = await log.take(`hold:${who}`, windows);
            if (r.ok) {
              admitted[who]!.push(now);
              admitted.all!.push(now);
              continue;
            }
            expect(r.held).toBe(false);
            expect(r.waitMs).toBeGreaterThan(0);
            // One ms early is still refused; at the hint, with nothing else in between, it is admitted.
            const at = now;
            now = at + r.waitMs - 1;
            expect((await log.take(`hold:${who}`, windows)).ok).toBe(false);
            now = at + r.waitMs;
            expect((await log.take(`hold:${who}`, windows)).ok).toBe(true);
            admitted[who]!.push(now);
            admitted.all!.push(now);
          }
          expect(maxInWindow(admitted.a!, windowMs)).toBeLessThanOrEqual(limit);
          expect(maxInWindow(admitted.b!, windowMs)).toBeLessThanOrEqual(limit);
          expect(maxInWindow(admitted.all!, windowMs * 2)).toBeLessThanOrEqual(limit + 1);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a refused take records nothing in any window', async () => {
    let now = 0;
    const log = new MemorySlidingLog(() => now);
    expect((await log.take('h', [{ key: 'u', limit: 1, windowMs: 1000 }])).ok).toBe(true);
    // 'u' is full: the deployment window must not be charged for the refused call.
    for (let i = 0; i < 5; i++)
      expect(
        (
          await log.take('h', [
            { key: 'u', limit: 1, windowMs: 1000 },
            { key: 'd', limit: 1, windowMs: 1000 },
          ])
        ).ok,
      ).toBe(false);
    now = 1000;
    expect(
      (
        await log.take('h', [
          { key: 'v', limit: 1, windowMs: 1000 },
          { key: 'd', limit: 1, windowMs: 1000 },
        ])
      ).ok,
    ).toBe(true);
  });

  test('a hold refuses everything for its key until it ends, and is never shortened', async () => {
    let now = 0;
    const log = new MemorySlidingLog(() => now);
    const w = [{ key: 'u', limit: 100, windowMs: 1000 }];
    await log.hold('h', 5000);
    await log.hold('h', 1000); // shorter: ignored
    expect(await log.take('h', w)).toEqual({ ok: false, waitMs: 5000, held: true });
    expect((await log.take('other', w)).ok).toBe(true);
    now = 4999;
    expect(await log.take('h', w)).toEqual({ ok: false, waitMs: 1, held: true });
    now = 5000;
    expect((await log.take('h', w)).ok).toBe(true);
  });
});

describe('SlidingXtGuard', () => {
  const rateLimited = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  };

  test('over the limit with no slot in the queue wait: 429 at once, with the wait as Retry-After', async () => {
    const guard = new SlidingXtGuard({ ipLimitPerMinute: 1000, queueWaitMs: 100 });
    for (let i = 0; i < 3; i++) await guard.take('u1', 'asset');
    const started = performance.now();
    const err = await rateLimited(guard.take('u1', 'asset'));
    expect(performance.now() - started).toBeLessThan(50); // no pointless waiting
    expect(err.code).toBe('rate_limited');
    expect(err.status).toBe(429);
    expect(err.provider).toBe('xt');
    expect(err.detail.retryAfterMs).toBeGreaterThan(900);
    expect(err.detail.retryAfterMs).toBeLessThanOrEqual(1000 + WINDOW_MARGIN_MS);
    expect(err.retryAfterSec).toBe(Math.ceil(Number(err.detail.retryAfterMs) / 1000));
    // Other kinds and other people have their own windows.
    await guard.take('u1', 'other');
    await guard.take('u2', 'asset');
  });

  test('a call over the limit waits for the slot when it comes within the queue wait', async () => {
    const guard = new SlidingXtGuard({
      ipLimitPerMinute: 1000,
      queueWaitMs: 2000,
      userLimits: { asset: 1, other: 10 },
      marginMs: 0,
    });
    await guard.take('u', 'asset');
    const started = performance.now();
    await guard.take('u', 'asset');
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(990); // it waited for the slot…
    // …and was served within its queue wait rather than refused (how late its timer fired is the machine's load, not the guard).
    expect(waited).toBeLessThan(2000);
  });

  test('the deployment-wide budget counts every person, and keeps the institution its slice', async () => {
    const guard = new SlidingXtGuard({ ipLimitPerMinute: 10, queueWaitMs: 0 }); // people 9 together, 1 kept for /v1
    for (let i = 0; i < 9; i++) await guard.take(`person-${i}`, 'other');
    const err = await rateLimited(guard.take('person-new', 'other'));
    expect(err.detail.retryAfterMs).toBeGreaterThan(59_000);
    await guard.take('person-new', 'other', 'service');
    await rateLimited(guard.take('person-other', 'other', 'service')); // and then the budget is spent
  });

  test("a person's share: the 101st call in a minute is refused, someone else's is not", async () => {
    let now = 0;
    const guard = new SlidingXtGuard({
      log: new MemorySlidingLog(() => now),
      ipLimitPerMinute: 1000,
      queueWaitMs: 0,
      userLimits: { asset: 1e9, other: 1e9 },
    });
    for (let i = 0; i < 100; i++, now += 100) await guard.take('busy', i % 2 ? 'asset' : 'other');
    expect((await rateLimited(guard.take('busy', 'other'))).detail.retryAfterMs).toBe(
      60_000 + WINDOW_MARGIN_MS - 10_000,
    );
    await guard.take('calm', 'other');
    now = 60_000 + WINDOW_MARGIN_MS;
    await guard.take('busy', 'other');
  });

  test('hold: that person is refused at once while it lasts; others are not', async () => {
    const guard = new SlidingXtGuard({ ipLimitPerMinute: 1000, queueWaitMs: 2000 });
    await guard.hold('u', 300);
    const started = performance.now();
    const err = await rateLimited(guard.take('u', 'other'));
    expect(performance.now() - started).toBeLessThan(50);
    expect(err.detail.reason).toMatch(/held/);
    expect(err.detail.retryAfterMs).toBeLessThanOrEqual(300);
    await guard.take('someone-else', 'other');
    await new Promise((r) => setTimeout(r, 320));
    await guard.take('u', 'other');
  });

  test('hold without a usable duration holds for 10 s', async () => {
    let now = 0;
    const guard = new SlidingXtGuard({ log: new MemorySlidingLog(() => now), ipLimitPerMinute: 1000, queueWaitMs: 0 });
    await guard.hold('u', Number.NaN);
    expect((await rateLimited(guard.take('u', 'other'))).detail.retryAfterMs).toBe(10_000);
    now = 10_000;
    await guard.take('u', 'other');
  });
});

describe('the deployment budget, shared', () => {
  const shares = fc.record({
    limit: fc.integer({ min: 2, max: 100_000 }),
    person: fc.integer({ min: 1, max: 100 }),
    service: fc.integer({ min: 1, max: 100 }),
  });

  test('property: budgetOf keeps the service its slice and gives one person at most a rounded-up share', () => {
    fc.assert(
      fc.property(shares, ({ limit, person, service }) => {
        fc.pre(person + service <= 100 && limit - Math.ceil((service * limit) / 100) >= 1); // what loadConfig accepts
        const b = budgetOf(limit, person / 100, service / 100);
        expect(b.total).toBe(limit);
        expect(limit - b.persons).toBe(Math.ceil((service * limit) / 100)); // exact, in integers
        expect(b.perPerson).toBe(Math.min(b.persons, Math.ceil((person * limit) / 100)));
        expect(b.perPerson).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
    expect(budgetOf(1000)).toEqual({ total: 1000, persons: 900, perPerson: 100 });
    expect(budgetOf(100, 0.7, 0.3)).toEqual({ total: 100, persons: 70, perPerson: 70 }); // not 71
  });

  // Calls on a fake clock through the guard (per-user limits out of the way): greedy people burst,
  // a light person and the institution call now and then.
  const step = fc.tuple(
    fc.integer({ min: 0, max: 300 }),
    fc.oneof(
      fc.constantFrom('light', 'service'),
      fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 40 })),
    ),
  );

  test('property: no person over their share, people never in the kept slice; a light person and the institution always served', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 10, max: 300 }),
        fc.integer({ min: 5, max: 30 }),
        fc.integer({ min: 5, max: 30 }),
        fc.array(step, { maxLength: 150 }),
        async (limit, p, s, steps) => {
          const W = 1000;
          const b = budgetOf(limit, p / 100, s / 100);
          // As many greedy people as leave the light person room: k shares + its own share fit in what people get.
          const greedy = Math.max(0, Math.min(6, Math.floor(b.persons / b.perPerson) - 1));
          let now = 0;
          const guard = new SlidingXtGuard({
            log: new MemorySlidingLog(() => now),
            ipLimitPerMinute: limit,
            personShare: p / 100,
            serviceShare: s / 100,
            queueWaitMs: 0,
            userLimits: { asset: 1e9, other: 1e9 },
            marginMs: 0,
            budgetWindowMs: W,
          });
          const admitted = new Map<string, number[]>();
          const inWindow = (who: string) => (admitted.get(who) ?? []).filter((t) => t > now - W).length;
          const take = async (who: string, caller: 'person' | 'service') => {
            const ok = await guard.take(who, 'other', caller).then(
              () => true,
              () => false,
            );
            if (ok) admitted.set(who, [...(admitted.get(who) ?? []), now]);
            return ok;
          };
          for (const [dt, what] of steps) {
            now += dt;
            if (what === 'light') {
              if (inWindow('light') < b.perPerson) expect(await take('light', 'person')).toBe(true);
            } else if (what === 'service') {
              if (inWindow('service') < b.total - b.persons) expect(await take('service', 'service')).toBe(true);
            } else if (what[0] < greedy) for (let i = 0; i < what[1]; i++) await take(`greedy-${what[0]}`, 'person');
          }
          const people = [...admitted].filter(([who]) => who !== 'service');
          for (const [, times] of people) expect(maxInWindow(times, W)).toBeLessThanOrEqual(b.perPerson);
          expect(
            maxInWindow(
              people.flatMap(([, times]) => times),
              W,
            ),
          ).toBeLessThanOrEqual(b.persons);
          expect(maxInWindow([...admitted.values()].flat(), W)).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 300 },
    );
  });
});

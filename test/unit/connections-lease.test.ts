/**
 * The refresh lock as a lease: renewed while the refresh call is alive, bounded waits for
 * everybody else, and a holder whose lease lapsed never writes over a newer record.
 * Two Connections on one store stand for two processes; the provider is a fake whose calls
 * the test answers by hand. The lease logic runs with its timings scaled down (T, through the
 * `timing` test hook), in the same ratios as the real ones; the real ones are checked for those
 * ratios below, and run for real in test/integration/lock-recovery.test.ts (SIGKILL).
 */
import { pino } from 'pino';
import { AppError } from '../../src/errors.js';
import type { TokenResponse } from '../../src/providers/types.js';
import {
  Connections,
  LOCK_LEASE_MS,
  LOCK_RENEW_MS,
  type LockTiming,
  REFRESH_WAIT_MS,
} from '../../src/session/connections/index.js';
import { Sealer } from '../../src/session/crypto.js';
import { MemoryAuthStore } from '../../src/store/memory/index.js';
import { scaledLockTiming, testClock } from '../helpers/clock.js';
import { stubProvider } from '../helpers/providers.js';

/** The lease, its renewal and the longest wait, a fifth of the real ones. */
const T: LockTiming = scaledLockTiming({
  lockLeaseMs: LOCK_LEASE_MS,
  lockRenewMs: LOCK_RENEW_MS,
  refreshWaitMs: REFRESH_WAIT_MS,
});

interface Call {
  refreshToken: string;
  resolve(t: TokenResponse): void;
  reject(e: unknown): void;
}

function fakeProvider() {
  const calls: Call[] = [];
  const provider = stubProvider({
    id: 'xt',
    refresh: (refreshToken) =>
      new Promise<TokenResponse>((resolve, reject) => calls.push({ refreshToken, resolve, reject })),
  });
  return { provider, calls };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

function setup() {
  const c = testClock();
  const store = new MemoryAuthStore(c.now);
  const { provider, calls } = fakeProvider();
  const make = () =>
    new Connections({
      store,
      sealer: new Sealer([Buffer.alloc(32, 7)]),
      providers: new Map([['xt', provider]]),
      logger: pino({ level: 'silent' }),
      now: c.now,
      skewMs: 60_000,
      backoffMaxMs: 60_000,
      lockMaxHoldMs: 25_000,
      maxTtlMs: 86_400_000,
      timing: T,
    });
  return { c, store, calls, a: make(), b: make() };
}

const tokens = (name: string, now: number, ttlMs = 600_000): TokenResponse => ({
  accessToken: `access-${name}`,
  refreshToken: `refresh-${name}`,
  accessExpiresAt: now + ttlMs,
});

describe('a refresh whose lease lapsed (its process stalled) never writes over a newer record', () => {
  test('a late success leaves the newer token set in place and returns it', async () => {
    const { c, calls, a, b } = setup();
    await a.connect('o', 'xt', tokens('1', c.now(), 1000));
    c.advance(2000); // expired
    const pa = a.ensureFresh('o', 'xt');
    await until(() => calls.length === 1);
    c.advance(T.lockLeaseMs + 1); // A stalls: its lease runs out before its next renewal
    const pb = b.ensureFresh('o', 'xt');
    await until(() => calls.length === 2);
    expect(calls[1]!.refreshToken).toBe('refresh-1');
    calls[1]!.resolve(tokens('2', c.now()));
    expect((await pb)?.accessToken).toBe('access-2');
    calls[0]!.resolve(tokens('1b', c.now())); // A's answer arrives after B stored a newer record
    expect((await pa)?.accessToken).toBe('access-2');
    const stored = await a.read('o', 'xt');
    expect(stored).toMatchObject({ status: 'active', accessToken: 'access-2', refreshToken: 'refresh-2', version: 2 });
  });

  test('a late rejection does not end a connection that another process has refreshed', async () => {
    const { c, calls, a, b } = setup();
    await a.connect('o', 'xt', tokens('1', c.now(), 1000));
    c.advance(2000);
    const pa = a.ensureFresh('o', 'xt');
    await until(() => calls.length === 1);
    c.advance(T.lockLeaseMs + 1);
    const pb = b.ensureFresh('o', 'xt');
    await until(() => calls.length === 2);
    calls[1]!.resolve(tokens('2', c.now()));
    await pb;
    calls[0]!.reject(new AppError('provider_rejected', { provider: 'xt' }));
    expect((await pa)?.status).toBe('active');
    expect(await a.read('o', 'xt')).toMatchObject({ status: 'active', accessToken: 'access-2' });
  });

  test('a refresh in flight does not write over a new login stored meanwhile', async () => {
    const { c, calls, a } = setup();
    await a.connect('o', 'xt', tokens('1', c.now(), 1000));
    c.advance(2000);
    const pa = a.ensureFresh('o', 'xt');
    await until(() => calls.length === 1);
    await a.connect('o', 'xt', tokens('login', c.now()));
    calls[0]!.resolve(tokens('1b', c.now()));
    expect((await pa)?.accessToken).toBe('access-login');
    expect(await a.read('o', 'xt')).toMatchObject({ accessToken: 'access-login', version: 1 });
  });
});

describe('the lease is renewed while the refresh call is alive', () => {
  test('a refresh slower than the lease keeps its lock: the other process makes no second call', async () => {
    const { c, calls, a, b } = setup();
    await a.connect('o', 'xt', tokens('1', c.now(), 1000));
    c.advance(2000);
    const pa = a.ensureFresh('o', 'xt');
    await until(() => calls.length === 1);
    const started = Date.now();
    // B waits for A, gives up after the longest wait and, the token having expired, answers 503.
    const err = await b.ensureFresh('o', 'xt').catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(503); // rendered with Retry-After
    // Retry after about one lease (the clock runs on between setting and reading it: a few ms less).
    expect((err as AppError).detail.retryAfterMs).toBeGreaterThan(T.lockLeaseMs - 50);
    expect((err as AppError).detail.retryAfterMs).toBeLessThanOrEqual(T.lockLeaseMs);
    expect(waited).toBeGreaterThanOrEqual(T.refreshWaitMs - 100);
    expect(waited).toBeLessThan(T.refreshWaitMs + 1000);
    expect(T.refreshWaitMs).toBeGreaterThan(T.lockLeaseMs); // so without renewal B would have taken over
    expect(calls).toHaveLength(1);
    calls[0]!.resolve(tokens('2', c.now()));
    expect((await pa)?.accessToken).toBe('access-2');
    expect((await b.ensureFresh('o', 'xt'))?.accessToken).toBe('access-2');
    expect(calls).toHaveLength(1);
  });
});

describe('nobody waits more than REFRESH_WAIT_MS for another request of the same process', () => {
  test('expired token: the joiner answers 503 after the wait; the refresher still finishes', async () => {
    const { c, calls, a } = setup();
    await a.connect('o', 'xt', tokens('1', c.now(), 1000));
    c.advance(2000);
    const first = a.ensureFresh('o', 'xt');
    await until(() => calls.length === 1);
    const started = Date.now();
    const err = await a.ensureFresh('o', 'xt').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(T.refreshWaitMs + 1000);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(503);
    calls[0]!.resolve(tokens('2', c.now()));
    expect((await first)?.accessToken).toBe('access-2');
    expect(calls).toHaveLength(1);
  });

  test('still-valid token: the joiner goes on with it after the wait', async () => {
    const { c, calls, a } = setup();
    await a.connect('o', 'xt', tokens('1', c.now(), 600_000));
    c.advance(600_000 - 30_000); // inside the refresh window, still valid
    const first = a.ensureFresh('o', 'xt');
    await until(() => calls.length === 1);
    const started = Date.now();
    const rec = await a.ensureFresh('o', 'xt');
    const waited = Date.now() - started;
    expect(rec?.accessToken).toBe('access-1');
    expect(waited).toBeGreaterThanOrEqual(T.refreshWaitMs - 100);
    expect(waited).toBeLessThan(T.refreshWaitMs + 1000);
    calls[0]!.resolve(tokens('2', c.now()));
    expect((await first)?.accessToken).toBe('access-2');
  });
});

describe('the real timings', () => {
  test('keep the ratios the scaled ones run with, and every wait for another refresh under 5 s', () => {
    expect(LOCK_RENEW_MS * 3).toBeLessThanOrEqual(LOCK_LEASE_MS); // two renewals may go missing before the lease lapses
    expect(REFRESH_WAIT_MS).toBeGreaterThan(LOCK_LEASE_MS); // without renewal, a waiter takes over
    expect(REFRESH_WAIT_MS).toBeLessThan(5000); // nobody waits 5 s for somebody else's refresh
  });
});

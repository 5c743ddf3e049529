/**
 * Refresh locks after a crash: the real server runs as a child process and is killed with
 * SIGKILL while refreshes are in flight, then started again on the same store. The first
 * request of every session must not stall behind the dead process's locks (p99 < 5 s), must
 * never be a 5xx other than 503-with-Retry-After, and a connection whose refresh token the
 * provider rotated just before the crash must show "reconnect", never an error page.
 *
 * The XT.COM stand-in runs here, in the test process, and rotates strictly. At the moment of
 * the kill, HANG of the refresh calls hang at the provider (it never acts on them, so their
 * refresh tokens still work) and the others have been answered by the provider (rotated) but
 * the answer is held back, so the dying process never receives it.
 *
 * The child runs with the real LOCK_LEASE_MS, LOCK_RENEW_MS and REFRESH_WAIT_MS: this proves
 * the 5 s promise they make. One test file per store (test/integration/sigkill-*.test.ts), so
 * Jest can run the two at once.
 */
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { type AppChild, appChild } from './child.js';
import { SESSION_SECRET, TEST_SECRET, connectXt, scanLogs, sidCookie, tempDir, xtEnv } from './harness.js';
import { freePort } from './ports.js';
import { type RedisServer, startRedis } from './redis.js';

const SESSIONS = 30;
const HANG = 10;
const CONNECT_TTL_SEC = 2; // access tokens issued at login expire quickly, so every session needs a refresh
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Adds the run's figures to a failure's message (a passing run prints nothing). */
function withFigures(figures: unknown, check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof Error) err.message += `\n\nfigures: ${JSON.stringify(figures)}`;
    throw err;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function timed(url: string, cookie: string) {
  const started = performance.now();
  const res = await fetch(url, { headers: { Cookie: cookie, Accept: 'application/json' }, redirect: 'manual' });
  const text = await res.text();
  return { ms: performance.now() - started, status: res.status, retryAfter: res.headers.get('retry-after'), text };
}

/** Declares the SIGKILL test for one store, with its own redis-server when the store is Redis. */
export function sigkillDuringRefreshes(store: 'sqlite' | 'redis'): void {
  let redis: RedisServer | undefined;
  let xt: XtStandIn | undefined;
  let child: AppChild | undefined;

  afterEach(async () => {
    await child?.kill();
    child = undefined;
    await xt?.close();
    xt = undefined;
  });
  afterAll(async () => {
    await redis?.stop();
  });

  describe(`SIGKILL during refreshes (${store})`, () => {
    test('after a restart the first requests do not stall behind dead locks; lost connections ask to reconnect', async () => {
      xt = await startXtStandIn({
        clientSecret: TEST_SECRET,
        accessTtlSec: CONNECT_TTL_SEC,
        rotateRefreshTokens: true,
      });
      const storeEnv: Record<string, string> =
        store === 'sqlite'
          ? { SESSION_STORE: 'sqlite', DATA_DIR: tempDir('xtc-lock-') }
          : { SESSION_STORE: 'redis', REDIS_URL: (redis ??= await startRedis()).url };
      // PROVIDER_TIMEOUT at its default (10 s), as in production.
      const env = { ...xtEnv(xt, { ...storeEnv, LOG_LEVEL: 'info', PROVIDER_TIMEOUT: '10s' }) };
      child = appChild(await freePort(), env);
      await child.start();

      // 1. Connect the sessions while the child is up: SESSIONS people, each their own XT.COM user
      //    (so the account pages below are not queued behind XT.COM's per-user limit of 3 calls a second).
      const cookies: string[] = [];
      for (let i = 0; i < SESSIONS; i++) {
        xt.options.userId = String(20_000_000 + i);
        const cb = await connectXt(request.agent(child.url));
        expect(cb.status).toBe(303);
        cookies.push(sidCookie(cb));
      }
      // Every access token has now expired: exp (whole seconds) is at most CONNECT_TTL_SEC after the last login's second.
      await sleep((Math.floor(Date.now() / 1000) + CONNECT_TTL_SEC) * 1000 + 200 - Date.now());
      xt.options.accessTtlSec = 600;

      // 2. Every session refreshes at once (two requests each); kill the child while they are in flight.
      xt.failNext('timeout', HANG, 'refresh_token');
      xt.options.hangMs = 60_000;
      xt.options.answerDelayMs = 60_000;
      const inflight = cookies.flatMap((c) => [
        timed(`${child!.url}/api/session`, c).catch(() => null),
        timed(`${child!.url}/api/session`, c).catch(() => null),
      ]);
      for (let i = 0; i < 200 && xt.calls.refresh_token < SESSIONS; i++) await sleep(25);
      expect(xt.calls.refresh_token).toBe(SESSIONS); // single-flight: one call per session
      await child.kill('SIGKILL');
      await Promise.all(inflight);

      // 3. Start again on the same store; the provider now answers normally (in 200 ms).
      xt.options.answerDelayMs = 0;
      xt.options.tokenDelayMs = 200;
      const restartStarted = performance.now();
      await child.start();
      const restartMs = performance.now() - restartStarted;

      // 4. The first request of every session, all at once.
      const first = await Promise.all(cookies.map((c) => timed(`${child!.url}/api/session`, c)));
      const ms = first.map((r) => r.ms).sort((a, b) => a - b);
      const figures = {
        store,
        restartMs: Math.round(restartMs),
        maxMs: Math.round(ms[ms.length - 1]!),
        p99Ms: Math.round(percentile(ms, 99)),
        p50Ms: Math.round(percentile(ms, 50)),
        over5s: ms.filter((m) => m > 5000).length,
        statuses: first.reduce<Record<string, number>>((a, r) => ({ ...a, [r.status]: (a[r.status] ?? 0) + 1 }), {}),
        reasons: first.reduce<Record<string, number>>((a, r) => {
          const b = JSON.parse(r.text) as { connected: boolean; reason?: string };
          const k = b.connected ? 'connected' : (b.reason ?? 'none');
          return { ...a, [k]: (a[k] ?? 0) + 1 };
        }, {}),
      };
      withFigures(figures, () => {
        for (const r of first) {
          expect(r.status === 200 || (r.status === 503 && r.retryAfter !== null)).toBe(true);
        }
        expect(figures.p99Ms).toBeLessThan(5000);
        // The ones that hung at the provider kept a working refresh token; the others were rotated and lost.
        expect(figures.reasons).toEqual({ connected: HANG, refresh_rejected: SESSIONS - HANG });
        expect(xt!.calls.refresh_token).toBe(2 * SESSIONS);
      });

      // 5. Pages: never an error page; a lost connection offers Reconnect with the reason.
      const bodies = first.map((r) => JSON.parse(r.text) as { connected: boolean; reason?: string });
      const pages = await Promise.all(cookies.map((c) => timed(`${child!.url}/account`, c)));
      pages.forEach((p, i) => {
        expect(p.status).toBe(200);
        if (!bodies[i]!.connected) {
          expect(p.text).toContain('has ended');
          expect(p.text).toContain('Reconnect XT.COM');
        } else {
          expect(p.text).toContain('USDT');
        }
      });
      scanLogs(child.output(), [TEST_SECRET, SESSION_SECRET, ...xt.issued()]);
    }, 180_000);
  });
}

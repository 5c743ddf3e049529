/** Locks: one holder, a token to release, leases that lapse and extend. */
import type { AuthStore } from '../../../src/store/types.js';
import { type Contract, sleep } from './helpers.js';

export function lockContract(ctx: Contract): void {
  describe('locks', () => {
    let a: AuthStore;
    beforeEach(() => {
      a = ctx.stores.authState;
    });

    test('one holder at a time; release needs the token', async () => {
      const t = await a.acquireLock('k', 60_000);
      expect(t).toEqual(expect.any(String));
      expect(await a.acquireLock('k', 60_000)).toBeNull();
      await a.releaseLock('k', 'not-the-token');
      expect(await a.acquireLock('k', 60_000)).toBeNull();
      await a.releaseLock('k', t!);
      expect(await a.acquireLock('k', 60_000)).toEqual(expect.any(String));
    });

    test('concurrent acquirers: exactly one wins', async () => {
      const tokens = await Promise.all(Array.from({ length: 10 }, () => a.acquireLock('race', 60_000)));
      expect(tokens.filter((t) => t !== null)).toHaveLength(1);
    });

    test('a lease lapses, and only its holder can extend it while it lives', async () => {
      const t = (await a.acquireLock('k', 300))!;
      expect(await a.extendLock('k', 'other', 300)).toBe(false);
      expect(await a.extendLock('k', t, 300)).toBe(true);
      await sleep(450);
      expect(await a.extendLock('k', t, 300)).toBe(false); // lapsed: no revival
      const u = await a.acquireLock('k', 60_000);
      expect(u).toEqual(expect.any(String));
      expect(await a.extendLock('k', t, 300)).toBe(false); // taken over
    });
  });
}

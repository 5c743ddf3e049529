/** Single-use marks: one winner, across instances; expiry. */
import type { AuthStore, Stores } from '../../../src/store/types.js';
import { type Contract, sleep } from './helpers.js';

export function markContract(ctx: Contract): void {
  describe('marks', () => {
    let stores: Stores;
    let a: AuthStore;
    beforeEach(() => {
      stores = ctx.stores;
      a = ctx.stores.authState;
    });
    const create = ctx.create;

    test('markOnce: exactly one winner among concurrent callers, also across instances', async () => {
      const twin = await create(stores);
      try {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? twin.authState : a).markOnce('link:1', 60_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await a.hasMark('link:1')).toBe(true);
        expect(await twin.authState.hasMark('link:1')).toBe(true);
        expect(await a.hasMark('link:2')).toBe(false);
      } finally {
        if (twin !== stores) await twin.close();
      }
    });

    test('a mark expires', async () => {
      expect(await a.markOnce('short', 150)).toBe(true);
      expect(await a.markOnce('short', 150)).toBe(false);
      await sleep(250);
      expect(await a.hasMark('short')).toBe(false);
      expect(await a.markOnce('short', 150)).toBe(true);
    });
  });
}

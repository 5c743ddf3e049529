/** The back-channel logout index and the logout tombstones. */
import type { AuthStore, Stores } from '../../../src/store/types.js';
import { type Contract, sleep } from './helpers.js';

export function logoutIndexContract(ctx: Contract): void {
  describe('the back-channel logout index', () => {
    let stores: Stores;
    let a: AuthStore;
    beforeEach(() => {
      stores = ctx.stores;
      a = ctx.stores.authState;
    });
    const create = ctx.create;

    test('add, read, remove; each key its own set', async () => {
      expect(await a.readIndex('bcl:sid:1')).toEqual([]);
      await a.addToIndex('bcl:sid:1', 'owner-a', 60_000, 10);
      await a.addToIndex('bcl:sid:1', 'owner-b', 60_000, 10);
      await a.addToIndex('bcl:sid:1', 'owner-a', 60_000, 10); // again: still one member
      await a.addToIndex('bcl:sub:1', 'owner-c', 60_000, 10);
      expect((await a.readIndex('bcl:sid:1')).sort()).toEqual(['owner-a', 'owner-b']);
      expect(await a.readIndex('bcl:sub:1')).toEqual(['owner-c']);
      await a.removeFromIndex('bcl:sid:1', 'owner-a');
      await a.removeFromIndex('bcl:sid:1', 'not-there');
      expect(await a.readIndex('bcl:sid:1')).toEqual(['owner-b']);
      await a.removeFromIndex('bcl:sid:1', 'owner-b');
      expect(await a.readIndex('bcl:sid:1')).toEqual([]);
    });

    test('each member expires on its own; adding again moves its expiry', async () => {
      await a.addToIndex('bcl:sub:2', 'short', 150, 10);
      await a.addToIndex('bcl:sub:2', 'long', 60_000, 10);
      await a.addToIndex('bcl:sub:2', 'renewed', 150, 10);
      await a.addToIndex('bcl:sub:2', 'renewed', 60_000, 10);
      await sleep(250);
      expect((await a.readIndex('bcl:sub:2')).sort()).toEqual(['long', 'renewed']);
      await a.addToIndex('bcl:sub:3', 'gone', 150, 10);
      await sleep(250);
      expect(await a.readIndex('bcl:sub:3')).toEqual([]);
    });

    test('at most `max` members: those expiring soonest go first', async () => {
      for (let i = 0; i < 5; i++) await a.addToIndex('bcl:sub:4', `m${i}`, 60_000 + i * 1000, 3);
      expect((await a.readIndex('bcl:sub:4')).sort()).toEqual(['m2', 'm3', 'm4']);
    });

    test('shared by every instance on the same data', async () => {
      const twin = await create(stores);
      try {
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? twin.authState : a).addToIndex('bcl:sid:5', `owner-${i}`, 60_000, 100),
          ),
        );
        expect((await twin.authState.readIndex('bcl:sid:5')).sort()).toEqual(
          Array.from({ length: 10 }, (_, i) => `owner-${i}`).sort(),
        );
        await twin.authState.removeFromIndex('bcl:sid:5', 'owner-0');
        expect(await a.readIndex('bcl:sid:5')).toHaveLength(9);
      } finally {
        if (twin !== stores) await twin.close();
      }
    });
  });

  describe('back-channel logout tombstones', () => {
    let stores: Stores;
    let a: AuthStore;
    beforeEach(() => {
      stores = ctx.stores;
      a = ctx.stores.authState;
    });
    const create = ctx.create;

    test('none: 0; each key asked for, in order; another key is not asked', async () => {
      expect(await a.logoutTombstones([])).toEqual([]);
      expect(await a.logoutTombstones(['bcl:sid:t1', 'bcl:sub:t1'])).toEqual([0, 0]);
      await a.putLogoutTombstone('bcl:sid:t1', 1_700_000_000_123, 60_000);
      await a.putLogoutTombstone('bcl:sub:t1', 1_700_000_000_456, 60_000);
      await a.putLogoutTombstone('bcl:sub:other', 1_800_000_000_000, 60_000);
      expect(await a.logoutTombstones(['bcl:sid:t1'])).toEqual([1_700_000_000_123]);
      expect(await a.logoutTombstones(['bcl:sid:t1', 'bcl:sub:t1', 'bcl:sid+sub:t1'])).toEqual([
        1_700_000_000_123, 1_700_000_000_456, 0,
      ]);
    });

    test('a later logout moves the time on, an earlier one never back', async () => {
      await a.putLogoutTombstone('bcl:sub:t2', 1_700_000_000_500, 60_000);
      await a.putLogoutTombstone('bcl:sub:t2', 1_700_000_000_100, 60_000);
      expect(await a.logoutTombstones(['bcl:sub:t2'])).toEqual([1_700_000_000_500]);
      await a.putLogoutTombstone('bcl:sub:t2', 1_700_000_000_900, 60_000);
      expect(await a.logoutTombstones(['bcl:sub:t2'])).toEqual([1_700_000_000_900]);
    });

    test('kept for its TTL, which a shorter one does not cut; then gone', async () => {
      await a.putLogoutTombstone('bcl:sid:t3', 1_700_000_000_000, 60_000);
      await a.putLogoutTombstone('bcl:sid:t3', 1_700_000_000_000, 150);
      await a.putLogoutTombstone('bcl:sid:t4', 1_700_000_000_000, 150);
      await sleep(250);
      expect(await a.logoutTombstones(['bcl:sid:t3'])).toEqual([1_700_000_000_000]);
      expect(await a.logoutTombstones(['bcl:sid:t4'])).toEqual([0]);
    });

    test('unbounded: 1,000 keys each keep their own', async () => {
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          a.putLogoutTombstone(`bcl:sid:many-${i}`, 1_700_000_000_000 + i, 60_000),
        ),
      );
      for (const i of [0, 499, 999])
        expect(await a.logoutTombstones([`bcl:sid:many-${i}`])).toEqual([1_700_000_000_000 + i]);
    });

    test('shared by every instance on the same data, racing logouts keep the latest', async () => {
      const twin = await create(stores);
      try {
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? twin.authState : a).putLogoutTombstone('bcl:sub:t5', 1_700_000_000_000 + i, 60_000),
          ),
        );
        expect(await twin.authState.logoutTombstones(['bcl:sub:t5'])).toEqual([1_700_000_000_009]);
        expect(await a.logoutTombstones(['bcl:sub:t5'])).toEqual([1_700_000_000_009]);
      } finally {
        if (twin !== stores) await twin.close();
      }
    });
  });
}

/** The expiry index (dueConnections): written with the records, read by due time only, paged, across instances. */
import type { AuthStore, DueConnection, DueQuery, Stores } from '../../../src/store/types.js';
import { type Contract, event, sleep } from './helpers.js';

/** Every partition's page, merged in index order (what a keeper sees over all its partitions). */
async function allDue(a: AuthStore, q: Omit<DueQuery, 'partition'>): Promise<DueConnection[]> {
  const parts = await Promise.all(
    Array.from({ length: a.duePartitions }, (_, partition) => a.dueConnections({ ...q, partition })),
  );
  return parts.flat().sort((x, y) => x.due - y.due || (x.owner < y.owner ? -1 : x.owner > y.owner ? 1 : 0));
}

const keys = (d: DueConnection[]) => d.map((e) => `${e.owner}@${e.due}`);

export function dueIndexContract(ctx: Contract): void {
  describe('expiry index', () => {
    let stores: Stores;
    let a: AuthStore;
    beforeEach(() => {
      stores = ctx.stores;
      a = ctx.stores.authState;
    });

    test('put, replace and delete keep the index; a page holds only entries due before `before`, in due order', async () => {
      expect(a.duePartitions).toBeGreaterThanOrEqual(1);
      await a.putConnection('sub.c', 'xt', 'vc', 60_000, undefined, 3000);
      await a.putConnection('sub.a', 'xt', 'va', 60_000, undefined, 1000);
      await a.putConnection('sub.b', 'xt', 'vb', 60_000, event('sub.b', 'due-b'), 2000);
      await a.putConnection('sub.late', 'xt', 'vl', 60_000, undefined, 9000);
      await a.putConnection('sub.none', 'xt', 'vn', 60_000); // never indexed
      expect(keys(await allDue(a, { before: 5000, limit: 10 }))).toEqual(['sub.a@1000', 'sub.b@2000', 'sub.c@3000']);
      expect((await allDue(a, { before: 1500, limit: 10 }))[0]).toMatchObject({
        owner: 'sub.a',
        provider: 'xt',
        value: 'va',
      });
      // A replace moves the entry (a time), keeps it (undefined) or takes it out (null).
      expect(await a.replaceConnection('sub.a', 'xt', 'va2', 60_000, 'va', undefined, 8000)).toBe(true);
      expect(await a.replaceConnection('sub.b', 'xt', 'vb2', 60_000, 'vb')).toBe(true);
      expect(await a.replaceConnection('sub.c', 'xt', 'vc2', 60_000, undefined, undefined, null)).toBe(true);
      expect(await a.replaceConnection('sub.late', 'xt', 'x', 60_000, 'not-it', undefined, 1)).toBe(false); // CAS lost: no move
      expect(keys(await allDue(a, { before: 10_000, limit: 10 }))).toEqual([
        'sub.b@2000',
        'sub.a@8000',
        'sub.late@9000',
      ]);
      expect((await allDue(a, { before: 10_000, limit: 10 }))[0]!.value).toBe('vb2');
      expect(await a.deleteConnection('sub.b', 'xt')).toBe(true);
      expect(keys(await allDue(a, { before: 10_000, limit: 10 }))).toEqual(['sub.a@8000', 'sub.late@9000']);
    });

    test('pages after the last entry, ties broken by key, with no entry twice; a second instance sees the same', async () => {
      const owners = Array.from({ length: 12 }, (_, i) => `sub.p${String(i).padStart(2, '0')}`);
      for (const [i, o] of owners.entries()) await a.putConnection(o, 'xt', `v${i}`, 60_000, undefined, 100 * (i % 3));
      const twin = await ctx.create(stores);
      try {
        for (const store of [a, twin.authState]) {
          for (let partition = 0; partition < store.duePartitions; partition++) {
            const seen: DueConnection[] = [];
            let page = await store.dueConnections({ before: 1000, limit: 2, partition });
            while (page.length > 0) {
              seen.push(...page);
              const last = page[page.length - 1]!;
              page = await store.dueConnections({ before: 1000, limit: 2, partition, after: last });
            }
            const all = await store.dueConnections({ before: 1000, limit: 100, partition });
            expect(keys(seen)).toEqual(keys(all));
          }
          const merged = await allDue(store, { before: 1000, limit: 100 });
          expect(merged).toHaveLength(12);
          expect(new Set(merged.map((e) => e.owner)).size).toBe(12);
        }
      } finally {
        if (twin !== stores) await twin.close();
      }
    });

    test('an entry whose record expired is skipped', async () => {
      await a.putConnection('sub.short', 'xt', 'v', 150, undefined, 10);
      await a.putConnection('sub.long', 'xt', 'v', 60_000, undefined, 20);
      await sleep(250);
      expect(keys(await allDue(a, { before: 1000, limit: 10 }))).toEqual(['sub.long@20']);
    });
  });
}

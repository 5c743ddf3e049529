/** The webhook outbox: events written with their connection change, claimed per group in order, leased. */
import type { AuthStore, ClaimedEvent, Outbox, Stores } from '../../../src/store/types.js';
import { type Contract, sleep, event, ids, drain } from './helpers.js';

export function outboxContract(ctx: Contract): void {
  describe('outbox', () => {
    let stores: Stores;
    let a: AuthStore;
    beforeEach(() => {
      stores = ctx.stores;
      a = ctx.stores.authState;
    });
    const create = ctx.create;

    let o: Outbox;
    beforeEach(() => {
      o = stores.outbox;
    });
    /** A connection write of its own (owner = group) carrying one event. */
    const put = (group: string, name: string, createdAt?: number) =>
      a.putConnection(group, `p-${name}`, 'v', 60_000, event(group, name, createdAt));

    test('an event is written with the connection change, and only when the write happens', async () => {
      const put1 = event('o1', 'put');
      await a.putConnection('o1', 'xt', 'v1', 60_000, put1);
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000, 'stale', event('o1', 'cas-lost'))).toBe(false);
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000, 'v1', event('o1', 'cas-won'))).toBe(true);
      expect(await a.replaceConnection('o1', 'gone', 'v', 60_000, undefined, event('o1', 'replace-missing'))).toBe(
        false,
      );
      expect(await a.replaceConnection('o1', 'xt', 'v3', 60_000, undefined, event('o1', 'replace'))).toBe(true);
      expect(await a.deleteConnection('o1', 'gone', event('o1', 'delete-missing'))).toBe(false);
      expect(await a.deleteConnection('o1', 'xt', event('o1', 'delete'))).toBe(true);
      expect(await a.getConnection('o1', 'xt')).toBeNull();
      expect(await a.deleteConnection('o1', 'xt')).toBe(false);
      expect((await o.stats()).pending).toBe(4);
      const [first] = await o.claim(10, 60_000);
      expect(first).toEqual(expect.objectContaining({ ...put1, attempts: 0 }));
      expect(first!.lease).toEqual(expect.any(String));
      await o.done(first!.id, first!.lease);
      expect(await drain(o)).toEqual(['msg_cas-won', 'msg_replace', 'msg_delete']);
    });

    test('an expired record deletes as none: no event', async () => {
      await a.putConnection('o1', 'xt', 'v1', 150);
      await sleep(250);
      expect(await a.deleteConnection('o1', 'xt', event('o1', 'delete-expired'))).toBe(false);
      expect((await o.stats()).pending).toBe(0);
    });

    test('per group: only the head, in order; a backing-off head blocks its group only', async () => {
      for (const name of ['A1', 'A2', 'A3']) await put('A', name);
      await put('B', 'B1');
      const first = await o.claim(10, 60_000);
      expect(ids(first)).toEqual(['msg_A1', 'msg_B1']);
      expect(await o.claim(10, 60_000)).toEqual([]); // both heads are leased
      const [a1, b1] = first as [ClaimedEvent, ClaimedEvent];
      await o.retry(a1.id, a1.lease, Date.now() + 400);
      await put('B', 'B2');
      await o.done(b1.id, b1.lease);
      const b2 = await o.claim(10, 60_000);
      expect(ids(b2)).toEqual(['msg_B2']); // A waits for its head's next attempt; B goes on
      await o.done(b2[0]!.id, b2[0]!.lease);
      expect(await o.claim(10, 60_000)).toEqual([]);
      await sleep(450);
      const again = await o.claim(10, 60_000);
      expect(again).toEqual([expect.objectContaining({ id: 'msg_A1', attempts: 1 })]);
      await o.done(again[0]!.id, again[0]!.lease);
      expect(await drain(o)).toEqual(['msg_A2', 'msg_A3']);
    });

    test('claims at most `max` heads', async () => {
      for (const g of ['g1', 'g2', 'g3']) await put(g, g);
      expect(ids(await o.claim(2, 60_000))).toEqual(['msg_g1', 'msg_g2']);
      expect(ids(await o.claim(2, 60_000))).toEqual(['msg_g3']);
    });

    test('a lease holds the head until it runs out; only the current lease finishes it', async () => {
      await put('A', 'A1');
      const [old] = await o.claim(10, 200);
      expect(await o.claim(10, 200)).toEqual([]);
      await sleep(300);
      const [cur] = await o.claim(10, 60_000);
      expect(cur).toEqual(expect.objectContaining({ id: 'msg_A1', attempts: 0 }));
      expect(cur!.lease).not.toBe(old!.lease);
      await o.done(old!.id, old!.lease); // taken over: nothing happens
      await o.retry(old!.id, old!.lease, 0);
      await o.done(cur!.id, 'not-the-lease');
      await o.retry(cur!.id, 'not-the-lease', 0);
      expect((await o.stats()).pending).toBe(1);
      expect(await o.claim(10, 60_000)).toEqual([]); // still held by `cur`
      await o.done(cur!.id, cur!.lease);
      expect(await o.stats()).toEqual({ pending: 0 });
    });

    test('failed attempts are counted', async () => {
      await put('A', 'A1');
      for (let n = 0; n < 3; n++) {
        const [e] = await o.claim(10, 60_000);
        expect(e?.attempts).toBe(n);
        await o.retry(e!.id, e!.lease, Date.now() - 1);
      }
      expect((await o.claim(10, 60_000))[0]?.attempts).toBe(3);
    });

    test('stats: how many are pending, and the oldest', async () => {
      expect(await o.stats()).toEqual({ pending: 0 });
      await put('A', 'A1', 5000);
      await put('B', 'B1', 2000);
      await put('A', 'A2', 9000);
      expect(await o.stats()).toEqual({ pending: 3, oldestCreatedAt: 2000 });
      const claimed = await o.claim(10, 60_000);
      const b1 = claimed.find((e) => e.id === 'msg_B1')!;
      await o.done(b1.id, b1.lease);
      expect(await o.stats()).toEqual({ pending: 2, oldestCreatedAt: 5000 });
    });

    test('two instances claiming at once never get the same event, nor two of one group', async () => {
      const twin = await create(stores);
      try {
        for (let i = 0; i < 24; i++) await put(`g${i % 8}`, `e${i}`);
        const delivered: string[] = [];
        for (let round = 0; round < 20; round++) {
          const batches = await Promise.all([o.claim(3, 60_000), twin.outbox.claim(3, 60_000)]);
          const all = batches.flat();
          if (all.length === 0) break;
          expect(new Set(all.map((e) => e.group)).size).toBe(all.length);
          for (const e of all) await o.done(e.id, e.lease);
          delivered.push(...ids(all));
        }
        expect([...delivered].sort()).toEqual(Array.from({ length: 24 }, (_, i) => `msg_e${i}`).sort());
        for (let g = 0; g < 8; g++) {
          const order = delivered.filter((id) => Number(id.slice(5)) % 8 === g);
          expect(order).toEqual([...order].sort((x, y) => Number(x.slice(5)) - Number(y.slice(5))));
        }
      } finally {
        if (twin !== stores) await twin.close();
      }
    });
  });
}

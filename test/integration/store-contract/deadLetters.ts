/** The outbox's dead letters: an event given up on moves, still sealed, to a set kept for a bounded time. */
import type { AuthStore, Outbox } from '../../../src/store/types.js';
import { type Contract, drain, event, sleep } from './helpers.js';

export function deadLetterContract(ctx: Contract): void {
  describe('outbox dead letters', () => {
    let a: AuthStore;
    let o: Outbox;
    beforeEach(() => {
      a = ctx.stores.authState;
      o = ctx.stores.outbox;
    });
    const put = (group: string, name: string, createdAt?: number) =>
      a.putConnection(group, `p-${name}`, 'v', 60_000, event(group, name, createdAt));

    test('bury moves the head, still sealed, to the dead letters; its group goes on', async () => {
      await put('A', 'A1', 1000);
      await put('A', 'A2', 2000);
      const [first] = await o.claim(10, 60_000);
      await o.retry(first!.id, first!.lease, Date.now() - 1);
      const [again] = await o.claim(10, 60_000);
      const before = Date.now();
      await o.bury(again!.id, again!.lease, Date.now() + 60_000);
      const [dead, ...more] = await o.deadLetters(10);
      expect(more).toEqual([]);
      const { diedAt, ...rest } = dead!;
      expect(rest).toEqual({ id: 'msg_A1', group: 'A', value: 'sealed-A1', createdAt: 1000, attempts: 1 });
      expect(diedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(diedAt).toBeLessThanOrEqual(Date.now() + 1000);
      expect(await o.stats()).toEqual({ pending: 1, oldestCreatedAt: 2000 });
      expect(await drain(o)).toEqual(['msg_A2']);
      expect((await o.deadLetters(10)).map((d) => d.id)).toEqual(['msg_A1']);
    });

    test('only the current lease buries; the oldest first, at most `max`; each kept until its expiry', async () => {
      for (const g of ['g1', 'g2', 'g3']) await put(g, g);
      const claimed = await o.claim(10, 60_000);
      await o.bury(claimed[0]!.id, 'not-the-lease', Date.now() + 60_000);
      expect(await o.deadLetters(10)).toEqual([]);
      expect((await o.stats()).pending).toBe(3);
      await o.bury(claimed[0]!.id, claimed[0]!.lease, Date.now() + 60_000);
      await sleep(5);
      await o.bury(claimed[1]!.id, claimed[1]!.lease, Date.now() + 60_000);
      await o.bury(claimed[2]!.id, claimed[2]!.lease, Date.now() + 150);
      expect((await o.deadLetters(2)).map((d) => d.id)).toEqual(['msg_g1', 'msg_g2']);
      expect((await o.deadLetters(10)).map((d) => d.id)).toEqual(['msg_g1', 'msg_g2', 'msg_g3']);
      await sleep(250);
      expect((await o.deadLetters(10)).map((d) => d.id)).toEqual(['msg_g1', 'msg_g2']);
      expect(await o.stats()).toEqual({ pending: 0 });
    });

    test('a second instance sees the dead letters', async () => {
      const twin = await ctx.create(ctx.stores);
      try {
        await put('A', 'A1');
        const [e] = await o.claim(10, 60_000);
        await o.bury(e!.id, e!.lease, Date.now() + 60_000);
        expect((await twin.outbox.deadLetters(10)).map((d) => d.id)).toEqual(['msg_A1']);
      } finally {
        if (twin !== ctx.stores) await twin.close();
      }
    });
  });
}

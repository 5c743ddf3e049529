/**
 * Replays: delivered events are kept (done with keepUntil) beside the dead letters, and both go back
 * to the queue on a replay, each with its own id, once, at the end of its group's queue.
 */
import type { AuthStore, Outbox } from '../../../src/store/types.js';
import { type Contract, drain, event, sleep } from './helpers.js';

export function replayContract(ctx: Contract): void {
  describe('outbox replays', () => {
    let a: AuthStore;
    let o: Outbox;
    beforeEach(() => {
      a = ctx.stores.authState;
      o = ctx.stores.outbox;
    });
    const put = (group: string, name: string, createdAt?: number) =>
      a.putConnection(group, `p-${name}`, 'v', 60_000, event(group, name, createdAt));
    const ALL = { since: 0, until: Number.MAX_SAFE_INTEGER, max: 100 };
    /** Claims everything due and settles it: delivered and kept, or (for `dead` ids) buried. */
    async function settle(dead: string[] = [], keepMs = 60_000): Promise<string[]> {
      const out: string[] = [];
      for (let batch = await o.claim(10, 60_000); batch.length > 0; batch = await o.claim(10, 60_000)) {
        for (const e of batch) {
          if (dead.includes(e.id)) await o.bury(e.id, e.lease, Date.now() + keepMs);
          else await o.done(e.id, e.lease, Date.now() + keepMs);
          out.push(e.id);
        }
      }
      return out;
    }

    test('delivered and dead events go back once, earliest first, as new pending events with their own ids', async () => {
      await put('A', 'A1', 1000);
      await put('B', 'B1', 2000);
      await put('C', 'C1', 3000);
      await settle(['msg_B1']);
      expect((await o.deadLetters(10)).map((d) => d.id)).toEqual(['msg_B1']); // the delivered ones are not dead
      expect(await o.stats()).toEqual({ pending: 0 });
      const before = Date.now();
      expect(await o.replay(ALL)).toEqual(['msg_A1', 'msg_B1', 'msg_C1']);
      expect(await o.replay(ALL)).toEqual([]); // they left the kept set
      expect(await o.deadLetters(10)).toEqual([]);
      const stats = await o.stats();
      expect(stats.pending).toBe(3);
      expect(stats.oldestCreatedAt).toBeGreaterThanOrEqual(before - 1000); // their age counts from the replay
      const claimed = await o.claim(10, 60_000);
      expect(claimed.map(({ id, group, value, attempts }) => ({ id, group, value, attempts }))).toEqual([
        { id: 'msg_A1', group: 'A', value: 'sealed-A1', attempts: 0 },
        { id: 'msg_B1', group: 'B', value: 'sealed-B1', attempts: 0 },
        { id: 'msg_C1', group: 'C', value: 'sealed-C1', attempts: 0 },
      ]);
      for (const e of claimed) await o.done(e.id, e.lease, Date.now() + 60_000);
      // Kept again under their first creation time: a replay of the original range finds them.
      expect(await o.replay({ since: 1000, until: 2000, max: 10 })).toEqual(['msg_A1', 'msg_B1']);
    });

    test('done without keepUntil keeps nothing', async () => {
      await put('A', 'A1', 1000);
      expect(await drain(o)).toEqual(['msg_A1']);
      expect(await o.replay(ALL)).toEqual([]);
    });

    test('the range includes both ends; ids narrow it; max takes the earliest; expired ones are gone', async () => {
      for (const [name, at] of [
        ['e1', 1000],
        ['e2', 2000],
        ['e3', 3000],
        ['e4', 4000],
      ] as const)
        await put(name, name, at);
      await put('short', 'e5', 2500);
      await settle();
      const claimed = await o.claim(10, 60_000);
      expect(claimed).toEqual([]);
      expect(await o.replay({ since: 2000, until: 3000, ids: ['msg_e3', 'msg_e1', 'msg_nope'], max: 10 })).toEqual([
        'msg_e3',
      ]);
      expect(await o.replay({ since: 2000, until: 4000, ids: [], max: 10 })).toEqual([]);
      expect(await o.replay({ since: 1000, until: 4000, max: 2 })).toEqual(['msg_e1', 'msg_e2']);
      expect(await o.replay({ since: 1000, until: 4000, max: 0 })).toEqual([]);
      expect(await o.replay({ since: 1000, until: 4000, max: 10 })).toEqual(['msg_e5', 'msg_e4']);
    });

    test('a kept event is replayable until its expiry only', async () => {
      await put('A', 'A1', 1000);
      await put('B', 'B1', 2000);
      const [e1, e2] = await o.claim(10, 60_000);
      await o.done(e1!.id, e1!.lease, Date.now() + 150);
      await o.bury(e2!.id, e2!.lease, Date.now() + 60_000);
      await sleep(250);
      expect(await o.replay(ALL)).toEqual(['msg_B1']);
    });

    test('a replayed event goes to the end of its group queue', async () => {
      await put('A', 'A1', 1000);
      const [first] = await o.claim(10, 60_000);
      await o.done(first!.id, first!.lease, Date.now() + 60_000);
      await put('A', 'A2', 2000);
      expect(await o.replay(ALL)).toEqual(['msg_A1']);
      expect(await drain(o)).toEqual(['msg_A2', 'msg_A1']);
    });

    test('two instances replaying at once put each event back exactly once', async () => {
      const twin = await ctx.create(ctx.stores);
      try {
        for (let i = 0; i < 12; i++) await put(`g${i}`, `r${i}`, 1000 + i);
        await settle();
        const [x, y] = await Promise.all([twin.outbox.replay(ALL), o.replay(ALL)]);
        expect([...x, ...y].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `msg_r${i}`).sort());
        expect((await o.stats()).pending).toBe(12);
      } finally {
        if (twin !== ctx.stores) await twin.close();
      }
    });
  });
}

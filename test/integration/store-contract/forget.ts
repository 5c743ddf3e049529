/**
 * Forgetting a group (a subject's erasure): its pending events but those kept queued, its kept
 * delivered events and its dead letters go; a claimed one goes too, and its holder cannot bring it back.
 */
import type { AuthStore, ClaimedEvent, Outbox } from '../../../src/store/types.js';
import { type Contract, drain, event, ids } from './helpers.js';

export function forgetContract(ctx: Contract): void {
  describe('outbox forget', () => {
    let a: AuthStore;
    let o: Outbox;
    beforeEach(() => {
      a = ctx.stores.authState;
      o = ctx.stores.outbox;
    });
    const put = (group: string, name: string) => a.putConnection(group, `p-${name}`, 'v', 60_000, event(group, name));
    const ALL = { since: 0, until: Number.MAX_SAFE_INTEGER, max: 100 };
    const later = () => Date.now() + 60_000;
    /** Claims every head due now (one per group). */
    async function claimAll(): Promise<ClaimedEvent[]> {
      return o.claim(10, 60_000);
    }

    test('removes the pending, claimed, kept and dead events of its group only; the kept one becomes the head', async () => {
      // S and T each get a delivered event kept for replay and a dead letter.
      await put('S', 'S0');
      await put('T', 'T0');
      for (const e of await claimAll()) await o.done(e.id, e.lease, later());
      await put('S', 'Sd');
      await put('T', 'Td');
      for (const e of await claimAll()) await o.bury(e.id, e.lease, later());
      for (const name of ['S1', 'S2', 'S3']) await put('S', name);
      for (const name of ['T1', 'T2']) await put('T', name);
      const [s1] = await o.claim(1, 60_000);
      expect(s1?.id).toBe('msg_S1');
      expect((await o.stats()).pending).toBe(5);

      expect(await o.forget('S', ['msg_S3'])).toBe(4); // S1 (claimed), S2, the kept S0, the dead Sd

      expect((await o.stats()).pending).toBe(3);
      expect((await o.deadLetters(10)).map((d) => d.id)).toEqual(['msg_Td']);
      expect(await o.replay({ ...ALL, ids: ['msg_S0', 'msg_Sd'] })).toEqual([]);
      const heads = await claimAll();
      expect(ids(heads)).toEqual(['msg_S3', 'msg_T1']);
      expect(heads[0]).toEqual(expect.objectContaining({ group: 'S', value: 'sealed-S3', attempts: 0 }));
      for (const e of heads) await o.done(e.id, e.lease);
      expect(await drain(o)).toEqual(['msg_T2']);
      expect(await o.replay(ALL)).toEqual(['msg_T0', 'msg_Td']); // T's kept events are all still there
    });

    test("a claimed event's holder finds nothing afterwards: done, retry and bury bring nothing back", async () => {
      await put('A', 'A1');
      await put('B', 'B1');
      await put('B', 'B2');
      await put('C', 'C1');
      const [a1, b1, c1] = (await claimAll()) as [ClaimedEvent, ClaimedEvent, ClaimedEvent];
      expect(ids([a1, b1, c1])).toEqual(['msg_A1', 'msg_B1', 'msg_C1']);
      expect(await o.forget('A', [])).toBe(1);
      expect(await o.forget('B', ['msg_B2'])).toBe(1);
      expect(await o.forget('C', [])).toBe(1);
      await o.done(a1.id, a1.lease, later());
      await o.retry(b1.id, b1.lease, 0);
      await o.bury(c1.id, c1.lease, later());
      await o.done(b1.id, b1.lease);
      expect(await o.stats()).toEqual({ pending: 1, oldestCreatedAt: expect.any(Number) as number });
      expect(await o.deadLetters(10)).toEqual([]);
      expect(await o.replay(ALL)).toEqual([]);
      expect(await drain(o)).toEqual(['msg_B2']);
      expect(await o.stats()).toEqual({ pending: 0 });
    });

    test('keep = [] empties the group, which then starts afresh; an unknown group forgets nothing', async () => {
      await put('A', 'A1');
      await put('A', 'A2');
      await put('B', 'B1');
      expect(await o.forget('A', [])).toBe(2);
      expect(await o.forget('A', [])).toBe(0);
      expect(await o.forget('nobody', ['msg_B1'])).toBe(0);
      expect(await o.stats()).toEqual({ pending: 1, oldestCreatedAt: expect.any(Number) as number });
      await put('A', 'A3');
      expect(await drain(o)).toEqual(['msg_B1', 'msg_A3']);
    });

    test('two kept ids stay in their queue order: the first is the head, the second waits for it', async () => {
      for (const name of ['A1', 'A2', 'A3', 'A4']) await put('A', name);
      const [a1] = await claimAll();
      expect(a1?.id).toBe('msg_A1');
      expect(await o.forget('A', ['msg_A4', 'msg_A2'])).toBe(2);
      const [a2, ...none] = await claimAll();
      expect(a2?.id).toBe('msg_A2');
      expect(none).toEqual([]);
      expect(await claimAll()).toEqual([]); // A4 waits for A2
      await o.done(a2!.id, a2!.lease);
      expect(await drain(o)).toEqual(['msg_A4']);
    });

    test('a kept head that is claimed stays claimed: its lease and its holder are untouched', async () => {
      await put('A', 'A1');
      await put('A', 'A2');
      const [a1] = await claimAll();
      expect(await o.forget('A', ['msg_A1'])).toBe(1);
      expect(await claimAll()).toEqual([]); // still held
      await o.done(a1!.id, a1!.lease);
      expect(await o.stats()).toEqual({ pending: 0 });
    });
  });
}

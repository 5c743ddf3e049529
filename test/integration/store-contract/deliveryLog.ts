/** The webhook delivery log: attempts newest first, paged by key, filtered by status, bounded in time and size. */
import type { DeliveryAttempt, Outbox } from '../../../src/store/types.js';
import { type Contract, sleep } from './helpers.js';

let n = 0;
const attempt = (status: DeliveryAttempt['status'], at = Date.now()): DeliveryAttempt => {
  n++;
  return {
    key: `${String(at).padStart(13, '0')}-${String(n).padStart(6, '0')}`,
    eventId: `msg_${n}`,
    type: 'connection.created',
    status,
    statusCode: status === 'delivered' ? 204 : status === 'failed' ? 503 : null,
    durationMs: 12,
    attempt: 1,
    errorClass: status === 'delivered' ? null : status === 'failed' ? 'http_503' : 'max_age',
    at,
  };
};

export function deliveryLogContract(ctx: Contract): void {
  describe('webhook delivery log', () => {
    let o: Outbox;
    beforeEach(() => {
      o = ctx.stores.outbox;
    });
    const log = (a: DeliveryAttempt, ttl = 60_000, max = 100) => o.logAttempt(a, Date.now() + ttl, max);

    test('newest first, in pages: a page ends at `limit` items or `scan` entries read', async () => {
      const all = [attempt('failed'), attempt('delivered'), attempt('failed'), attempt('dead'), attempt('delivered')];
      for (const a of all) await log(a);
      const first = await o.readAttempts({ limit: 2, scan: 10 });
      expect(first.items).toEqual([all[4], all[3]]);
      const second = await o.readAttempts({ before: first.last, limit: 2, scan: 10 });
      expect(second.items).toEqual([all[2], all[1]]);
      const third = await o.readAttempts({ before: second.last, limit: 2, scan: 10 });
      expect(third).toEqual({ items: [all[0]], last: undefined });
      // By status; a scan that stops early says where it stopped.
      expect((await o.readAttempts({ status: 'failed', limit: 10, scan: 10 })).items).toEqual([all[2], all[0]]);
      const partial = await o.readAttempts({ status: 'failed', limit: 10, scan: 2 });
      expect(partial).toEqual({ items: [], last: all[3]!.key });
      expect((await o.readAttempts({ status: 'failed', before: partial.last, limit: 10, scan: 2 })).items).toEqual([
        all[2],
      ]);
    });

    test('bounded: expired entries and the oldest beyond the maximum are gone; a second instance reads the same', async () => {
      await log(attempt('failed'), 150);
      await sleep(250);
      expect((await o.readAttempts({ limit: 10, scan: 10 })).items).toEqual([]);
      const kept = [attempt('delivered'), attempt('delivered'), attempt('delivered')];
      for (const a of kept) await log(a, 60_000, 2);
      expect((await o.readAttempts({ limit: 10, scan: 10 })).items).toEqual([kept[2], kept[1]]);
      const twin = await ctx.create(ctx.stores);
      try {
        expect((await twin.outbox.readAttempts({ limit: 10, scan: 10 })).items).toEqual([kept[2], kept[1]]);
      } finally {
        if (twin !== ctx.stores) await twin.close();
      }
    });
  });
}

/** Login transactions: put, take once, at most `max`, expiry, take all. */
import type { AuthStore } from '../../../src/store/types.js';
import { type Contract, sleep } from './helpers.js';

export function transactionContract(ctx: Contract): void {
  describe('login transactions', () => {
    let a: AuthStore;
    beforeEach(() => {
      a = ctx.stores.authState;
    });

    test('put, then take exactly once', async () => {
      await a.putTransaction('o1', 't1', 'sealed-1', 60_000, 8);
      expect(await a.countTransactions('o1')).toBe(1);
      expect(await a.takeTransaction('o1', 't1')).toBe('sealed-1');
      expect(await a.takeTransaction('o1', 't1')).toBeNull();
      expect(await a.countTransactions('o1')).toBe(0);
    });

    test('another owner cannot take it', async () => {
      await a.putTransaction('o1', 't1', 'sealed-1', 60_000, 8);
      expect(await a.takeTransaction('o2', 't1')).toBeNull();
      expect(await a.takeTransaction('o1', 't1')).toBe('sealed-1');
    });

    test('at most `max` per owner, the oldest go first', async () => {
      for (let i = 0; i < 5; i++) await a.putTransaction('o1', `t${i}`, `v${i}`, 60_000, 3);
      expect(await a.countTransactions('o1')).toBe(3);
      expect(await a.takeTransaction('o1', 't0')).toBeNull();
      expect(await a.takeTransaction('o1', 't1')).toBeNull();
      expect(await a.takeTransaction('o1', 't4')).toBe('v4');
    });

    test('an expired one is gone', async () => {
      await a.putTransaction('o1', 't1', 'v1', 150, 8);
      await sleep(250);
      expect(await a.takeTransaction('o1', 't1')).toBeNull();
    });

    test('take all: every live one, once, atomically', async () => {
      await a.putTransaction('o1', 't1', 'v1', 60_000, 8);
      await a.putTransaction('o1', 't2', 'v2', 60_000, 8);
      await a.putTransaction('o2', 't3', 'v3', 60_000, 8);
      const [first, second] = await Promise.all([a.takeAllTransactions('o1'), a.takeAllTransactions('o1')]);
      const taken = [...first, ...second].map((t) => [t.id, t.value]).sort();
      expect(taken).toEqual([
        ['t1', 'v1'],
        ['t2', 'v2'],
      ]);
      for (const t of [...first, ...second]) expect(t.expiresAt).toBeGreaterThan(Date.now());
      expect(await a.countTransactions('o1')).toBe(0);
      expect(await a.countTransactions('o2')).toBe(1);
    });
  });
}

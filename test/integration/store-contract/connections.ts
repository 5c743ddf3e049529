/** Connection records: compare-and-set, compare-and-delete, races, counts, expiry. */
import type { AuthStore, Stores } from '../../../src/store/types.js';
import { type Contract, sleep, event, drain } from './helpers.js';

export function connectionContract(ctx: Contract): void {
  describe('connections', () => {
    let stores: Stores;
    let a: AuthStore;
    beforeEach(() => {
      stores = ctx.stores;
      a = ctx.stores.authState;
    });

    test('put, get, replace only while it exists, delete', async () => {
      expect(await a.getConnection('o1', 'xt')).toBeNull();
      expect(await a.replaceConnection('o1', 'xt', 'v0', 60_000)).toBe(false);
      expect(await a.getConnection('o1', 'xt')).toBeNull(); // replace never creates
      await a.putConnection('o1', 'xt', 'v1', 60_000);
      expect(await a.getConnection('o1', 'xt')).toBe('v1');
      expect(await a.getConnection('o1', 'oidc')).toBeNull();
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000)).toBe(true);
      expect(await a.getConnection('o1', 'xt')).toBe('v2');
      await a.deleteConnection('o1', 'xt');
      expect(await a.getConnection('o1', 'xt')).toBeNull();
    });

    test('compare-and-set: only over the value that was read', async () => {
      await a.putConnection('o1', 'xt', 'v1', 60_000);
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000, 'stale')).toBe(false);
      expect(await a.getConnection('o1', 'xt')).toBe('v1');
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000, 'v1')).toBe(true);
      expect(await a.getConnection('o1', 'xt')).toBe('v2');
    });

    test('two racing compare-and-set writes: exactly one wins', async () => {
      await a.putConnection('o1', 'xt', 'v1', 60_000);
      const results = await Promise.all([
        a.replaceConnection('o1', 'xt', 'a', 60_000, 'v1'),
        a.replaceConnection('o1', 'xt', 'b', 60_000, 'v1'),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    test('counted per provider (on a cluster: over every master)', async () => {
      for (let i = 0; i < 12; i++) await a.putConnection(`owner-${i}`, i % 4 ? 'xt' : 'oidc', 'v', 60_000);
      expect(await a.countConnections('xt')).toBe(9);
      expect(await a.countConnections('oidc')).toBe(3);
      expect(await a.countConnections('none')).toBe(0);
    });

    test('an expired one is gone, and cannot be replaced', async () => {
      await a.putConnection('o1', 'xt', 'v1', 150);
      await sleep(250);
      expect(await a.getConnection('o1', 'xt')).toBeNull();
      expect(await a.replaceConnection('o1', 'xt', 'v2', 60_000)).toBe(false);
    });

    test('compare-and-delete: only the value that was read, with its event', async () => {
      await a.putConnection('o1', 'oidc', 'v1', 60_000);
      expect(await a.deleteConnection('o1', 'oidc', event('o1', 'cad-lost'), 'stale')).toBe(false);
      expect(await a.getConnection('o1', 'oidc')).toBe('v1');
      expect(await a.deleteConnection('o1', 'oidc', event('o1', 'cad-won'), 'v1')).toBe(true);
      expect(await a.getConnection('o1', 'oidc')).toBeNull();
      expect(await a.deleteConnection('o1', 'oidc', event('o1', 'cad-gone'), 'v1')).toBe(false);
      expect(await drain(stores.outbox)).toEqual(['msg_cad-won']);
    });

    test('two racing compare-and-delete calls: exactly one deletes', async () => {
      await a.putConnection('o1', 'oidc', 'v1', 60_000);
      const results = await Promise.all([
        a.deleteConnection('o1', 'oidc', undefined, 'v1'),
        a.deleteConnection('o1', 'oidc', undefined, 'v1'),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}

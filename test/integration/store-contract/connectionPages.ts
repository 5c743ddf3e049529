/** Paging through the subjects' connection records: key order, exclusive start, limit, stability, expiry. */
import { randomBytes } from 'node:crypto';
import type { AuthStore, ConnectionKey, StoredConnection } from '../../../src/store/types.js';
import { type Contract, sleep } from './helpers.js';

/** A subject key's shape: `sub.` and 43 base64url characters. */
const subjectOwner = () => `sub.${randomBytes(32).toString('base64url')}`;
const keyOf = (r: ConnectionKey) => `${r.owner}|${r.provider}`;
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every page from the start, each after the last key of the one before; `between` runs between pages. */
async function walk(a: AuthStore, limit: number, between?: (page: number) => Promise<void>) {
  const pages: StoredConnection[][] = [];
  let after: ConnectionKey | undefined;
  for (;;) {
    const page = await a.pageConnections({ ownerPrefix: 'sub.', after, limit });
    expect(page.length).toBeLessThanOrEqual(limit);
    if (page.length === 0) return pages;
    pages.push(page);
    const last = page[page.length - 1]!;
    after = { owner: last.owner, provider: last.provider };
    await between?.(pages.length);
  }
}

export function connectionPageContract(ctx: Contract): void {
  describe('connection pages', () => {
    let a: AuthStore;
    beforeEach(() => {
      a = ctx.stores.authState;
    });

    test('in key order, `limit` at a time, each page after the last key (exclusive), only owners of the prefix', async () => {
      const stored: string[] = [];
      for (let i = 0; i < 15; i++) {
        const owner = subjectOwner();
        for (const provider of i % 3 ? ['xt'] : ['xt', 'oidc']) {
          await a.putConnection(owner, provider, `v-${owner}-${provider}`, 60_000);
          stored.push(`${owner}|${provider}`);
        }
      }
      await a.putConnection('browserOwnerNoDot', 'xt', 'session-bound', 60_000);
      expect(await a.pageConnections({ ownerPrefix: 'sub.', limit: 0 })).toEqual([]);
      const pages = await walk(a, 4);
      const seen = pages.flat();
      expect(seen.map(keyOf)).toEqual([...stored].sort(byKey));
      expect(pages.slice(0, -1).every((p) => p.length === 4)).toBe(true);
      expect(seen.every((r) => r.value === `v-${r.owner}-${r.provider}`)).toBe(true);
      const all = await a.pageConnections({ ownerPrefix: 'sub.', limit: 100 });
      expect(all.map(keyOf)).toEqual(seen.map(keyOf));
      const fromMiddle = await a.pageConnections({ ownerPrefix: 'sub.', after: all[9], limit: 3 });
      expect(fromMiddle.map(keyOf)).toEqual(all.slice(10, 13).map(keyOf));
      expect(await a.pageConnections({ ownerPrefix: 'sub.', after: all[all.length - 1], limit: 5 })).toEqual([]);
    });

    test('stable while records come and go between pages: none twice, each kept one exactly once', async () => {
      const kept = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const owner = subjectOwner();
        await a.putConnection(owner, 'xt', 'kept', 60_000);
        kept.add(`${owner}|xt`);
      }
      const doomed: ConnectionKey[] = [];
      for (let i = 0; i < 6; i++) {
        doomed.push({ owner: subjectOwner(), provider: 'xt' });
        await a.putConnection(doomed[i]!.owner, 'xt', 'doomed', 60_000);
      }
      const pages = await walk(a, 3, async (n) => {
        const gone = doomed[n - 1];
        if (gone) await a.deleteConnection(gone.owner, gone.provider);
        await a.putConnection(subjectOwner(), 'xt', 'added', 60_000);
        const some = [...kept][n % kept.size]!.split('|');
        await a.replaceConnection(some[0]!, some[1]!, 'kept', 60_000); // a refresh rewrites a kept record
      });
      const seen = pages.flat().map(keyOf);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((k) => kept.has(k)).sort(byKey)).toEqual([...kept].sort(byKey));
      expect(seen).toEqual([...seen].sort(byKey));
    });

    test('a deleted record is not listed; an expired one is skipped and the page still fills', async () => {
      const owners = Array.from({ length: 8 }, subjectOwner).sort(byKey);
      for (const [i, owner] of owners.entries()) await a.putConnection(owner, 'xt', 'v', i % 2 ? 60_000 : 150);
      await a.deleteConnection(owners[1]!, 'xt');
      await sleep(250);
      const page = await a.pageConnections({ ownerPrefix: 'sub.', limit: 2 });
      expect(page.map((r) => r.owner)).toEqual([owners[3], owners[5]]);
      const rest = await a.pageConnections({ ownerPrefix: 'sub.', after: page[1], limit: 10 });
      expect(rest.map((r) => r.owner)).toEqual([owners[7]]);
      expect(await a.pageConnections({ ownerPrefix: 'sub.', limit: 10 })).toHaveLength(3);
    });
  });
}

/** The express-session Store. */
import type { Stores } from '../../../src/store/types.js';
import { type Contract, sleep, sessions, sessionData } from './helpers.js';

export function sessionContract(ctx: Contract): void {
  describe('sessions (express-session Store)', () => {
    let stores: Stores;
    beforeEach(() => {
      stores = ctx.stores;
    });

    test('set, get, touch, destroy', async () => {
      const s = sessions(stores.sessions);
      await s.set('sid-1', sessionData('owner-1'));
      expect((await s.get('sid-1'))?.owner).toBe('owner-1');
      await s.touch('sid-1', sessionData('owner-1'));
      expect((await s.get('sid-1'))?.owner).toBe('owner-1');
      await s.destroy('sid-1');
      expect(await s.get('sid-1')).toBeFalsy();
    });

    test('a session past its cookie lifetime is gone', async () => {
      const s = sessions(stores.sessions);
      await s.set('sid-2', sessionData('owner-2', 1000));
      expect((await s.get('sid-2'))?.owner).toBe('owner-2');
      await sleep(1300);
      expect(await s.get('sid-2')).toBeFalsy();
    });
  });
}

/**
 * Connections.reconnect (memory store): tokens that name no user (nothing to check them against)
 * renew the connection but keep the stored user id, so the next reconnect is still checked against
 * it and refused as another account when it is one.
 */
import type { TokenResponse } from '../../src/providers/types.js';
import { Sealer } from '../../src/session/crypto.js';
import { MemoryAuthStore } from '../../src/store/memory/index.js';
import { testConnections } from '../helpers/connections.js';
import { stubProvider } from '../helpers/providers.js';

const T0 = 1_750_000_000_000;
const tokens = (n: number, userId?: string): TokenResponse => ({
  accessToken: `at-${n}`,
  accessExpiresAt: T0 + 3_600_000,
  refreshToken: `rt-${n}`,
  refreshExpiresAt: T0 + 180 * 86_400_000,
  ...(userId === undefined ? {} : { userId }),
});

test('a reconnect whose tokens carry no user id keeps the stored one, and the next reconnect is still checked', async () => {
  const now = () => T0;
  const connections = testConnections({
    store: new MemoryAuthStore(now),
    sealer: new Sealer([Buffer.alloc(32, 7)]),
    now,
    providers: new Map([['xt', stubProvider({ id: 'xt' })]]),
  });
  const first = await connections.connect('sub.a', 'xt', tokens(1, 'u-1'), 'a');
  const renewed = await connections.reconnect('sub.a', 'xt', tokens(2));
  expect(renewed.renewed).toBe(true);
  expect(renewed.rec).toMatchObject({ userId: 'u-1', accessToken: 'at-2', connectionId: first.connectionId });
  await expect(connections.reconnect('sub.a', 'xt', tokens(3, 'u-2'))).rejects.toMatchObject({
    code: 'reconnect_other_account',
  });
  expect(await connections.read('sub.a', 'xt')).toMatchObject({ userId: 'u-1', accessToken: 'at-2' });
});

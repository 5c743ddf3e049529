/**
 * Once the provider has answered a refresh (and, if it rotates, retired the old refresh token),
 * a store that is briefly away must not lose that answer: the write is tried again.
 */
import { pino } from 'pino';
import { AppError } from '../../src/errors.js';
import type { TokenResponse } from '../../src/providers/types.js';
import { Connections } from '../../src/session/connections/index.js';
import { Sealer } from '../../src/session/crypto.js';
import { MemoryAuthStore } from '../../src/store/memory/index.js';
import type { OutboxEvent } from '../../src/store/types.js';
import { stubProvider } from '../helpers/providers.js';

/** A memory store whose next `failures` writes of a refreshed record fail like an unreachable Redis. */
class FlakyStore extends MemoryAuthStore {
  failures = 0;
  override async replaceConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    expected?: string,
    event?: OutboxEvent,
  ): Promise<boolean> {
    if (this.failures > 0) {
      this.failures--;
      throw new AppError('store_unavailable', { detail: { store: 'test' } });
    }
    return super.replaceConnection(owner, provider, value, ttlMs, expected, event);
  }
}

function setup(rotate: () => TokenResponse) {
  const store = new FlakyStore();
  let calls = 0;
  const provider = stubProvider({
    id: 'xt',
    refresh: async () => {
      calls++;
      return rotate();
    },
  });
  const connections = new Connections({
    store,
    sealer: new Sealer([Buffer.alloc(32, 3)]),
    providers: new Map([['xt', provider]]),
    logger: pino({ level: 'silent' }),
    skewMs: 60_000,
    backoffMaxMs: 60_000,
    lockMaxHoldMs: 25_000,
    maxTtlMs: 86_400_000,
  });
  return { store, connections, calls: () => calls };
}

let n = 0;
const tokens = (): TokenResponse => ({
  accessToken: `access-${++n}`,
  refreshToken: `refresh-${n}`,
  accessExpiresAt: Date.now() + 3_600_000,
});

test('a store that fails twice after the provider answered still gets the rotated tokens', async () => {
  const { store, connections, calls } = setup(tokens);
  await connections.connect('owner', 'xt', { ...tokens(), accessExpiresAt: Date.now() - 1 }); // expired: the next use refreshes
  store.failures = 2;
  const rec = await connections.ensureFresh('owner', 'xt');
  expect(calls()).toBe(1);
  expect(rec?.refreshToken).toBe(`refresh-${n}`);
  expect((await connections.read('owner', 'xt'))?.refreshToken).toBe(`refresh-${n}`); // stored, not just returned
});

test('a store that stays away is reported as such (503), not as a lost connection', async () => {
  const { store, connections } = setup(tokens);
  await connections.connect('owner', 'xt', { ...tokens(), accessExpiresAt: Date.now() - 1 });
  store.failures = 1000;
  await expect(connections.ensureFresh('owner', 'xt')).rejects.toMatchObject({ code: 'store_unavailable' });
}, 15_000);

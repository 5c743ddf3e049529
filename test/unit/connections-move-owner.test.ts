/**
 * Moving a person's connections to a new owner id (Connections.moveOwner, memory store, a clock
 * the test holds still): every provider's connection moves, each under its refresh lock; the one a
 * login replaces ends instead, with its webhook; and a login under an owner id just made
 * (`freshOwner`) looks for nothing to replace.
 */
import type { TokenResponse } from '../../src/providers/types.js';
import { refreshLockKey } from '../../src/session/connections/index.js';
import { Sealer } from '../../src/session/crypto.js';
import { MemoryAuthStore } from '../../src/store/memory/index.js';
import { drainEvents, testConnections } from '../helpers/connections.js';
import { stubProvider } from '../helpers/providers.js';

const T0 = 1_750_000_000_000;

/** A memory store that counts the reads of each owner's connections. */
class CountingStore extends MemoryAuthStore {
  readonly reads = new Map<string, number>();
  override async getConnection(owner: string, provider: string): Promise<string | null> {
    this.reads.set(owner, (this.reads.get(owner) ?? 0) + 1);
    return super.getConnection(owner, provider);
  }
}

function setup() {
  const now = () => T0;
  const store = new CountingStore(now);
  const sealer = new Sealer([Buffer.alloc(32, 5)]);
  const connections = testConnections({
    store,
    sealer,
    now,
    providers: new Map(['xt', 'oidc'].map((id) => [id, stubProvider({ id })])),
  });
  /** Every outbox event, opened: [owner, type, provider, reason]. */
  const events = async () =>
    (await drainEvents(store.outbox, sealer)).map(({ owner, body }) => [
      owner,
      body.type,
      body.data.provider,
      body.data.reason,
    ]);
  return { connections, store, events };
}

const tokens = (name: string): TokenResponse => ({
  accessToken: `at-${name}`,
  refreshToken: `rt-${name}`,
  accessExpiresAt: T0 + 3_600_000,
});

test("every provider's connection moves to the new owner id, and the old one holds nothing", async () => {
  const { connections, events } = setup();
  await connections.connect('old', 'xt', tokens('xt'));
  await connections.connect('old', 'oidc', tokens('oidc'));
  await events();
  await connections.moveOwner('old', 'new');
  expect((await connections.read('new', 'xt'))?.accessToken).toBe('at-xt');
  expect((await connections.read('new', 'oidc'))?.accessToken).toBe('at-oidc');
  expect(await connections.read('old', 'xt')).toBeNull();
  expect(await connections.read('old', 'oidc')).toBeNull();
  expect(await events()).toEqual([]); // a move is neither an end nor a start
});

test('the connection a login replaces ends (disconnected, with its webhook) instead of moving; the others move', async () => {
  const { connections, events } = setup();
  await connections.connect('old', 'xt', tokens('xt'));
  await connections.connect('old', 'oidc', tokens('oidc'));
  await events();
  await connections.moveOwner('old', 'new', 'xt');
  expect(await connections.read('new', 'xt')).toBeNull();
  expect(await connections.read('old', 'xt')).toBeNull();
  expect((await connections.read('new', 'oidc'))?.accessToken).toBe('at-oidc');
  expect(await events()).toEqual([['old', 'connection.ended', 'xt', 'disconnected']]);
});

test('a refresh holding the lock is stored before the move, and moves with it', async () => {
  const { connections, store } = setup();
  await connections.connect('old', 'xt', tokens('before'));
  const held = await store.acquireLock(refreshLockKey('old', 'xt'), 60_000);
  expect(held).not.toBeNull();
  let settled = false;
  const moving = connections.moveOwner('old', 'new').then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 200));
  expect(settled).toBe(false); // waiting for the lock
  await connections.connect('old', 'xt', tokens('refreshed')); // what the holder stores
  await store.releaseLock(refreshLockKey('old', 'xt'), held!);
  await moving;
  expect((await connections.read('new', 'xt'))?.accessToken).toBe('at-refreshed');
  expect(await connections.read('old', 'xt')).toBeNull();
});

test('a login under an owner id just made looks for nothing to replace; under a known owner it ends the one it replaces', async () => {
  const { connections, store, events } = setup();
  await connections.connect('fresh', 'xt', tokens('one'), undefined, undefined, { freshOwner: true });
  expect(store.reads.get('fresh') ?? 0).toBe(0);
  expect(await events()).toEqual([['fresh', 'connection.created', 'xt', null]]);
  await connections.connect('fresh', 'xt', tokens('two'));
  expect(store.reads.get('fresh')).toBe(1);
  expect(await events()).toEqual([
    ['fresh', 'connection.ended', 'xt', 'disconnected'],
    ['fresh', 'connection.created', 'xt', null],
  ]);
  expect((await connections.read('fresh', 'xt'))?.accessToken).toBe('at-two');
});

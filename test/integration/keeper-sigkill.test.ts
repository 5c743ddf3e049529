/**
 * A keeper killed (SIGKILL) in the middle of a pass, on Redis: the child holds a partition's lease
 * and a connection's refresh lock, inside a refresh that never returns. Its leases run out and
 * another replica's passes take the work over: every due connection is refreshed, each exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../src/app.js';
import type { Stores } from '../../src/store/types.js';
import { connectSubject, keeperProvider, openStores, replica } from '../helpers/keeper.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEASE_MS = 1500;

let redis: RedisServer;
let stores: Stores | undefined;
let child: ChildProcess | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await stores?.close();
  await redis.stop();
});

/** Starts the hanging replica; resolves once it is inside a refresh. */
function startChild(prefix: string): Promise<ChildProcess> {
  const file = path.join(ROOT, 'test', 'fixtures', 'keeper', 'hangingReplica.ts');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, KEEPER_PREFIX: prefix, KEEPER_REDIS_URL: redis.url };
  const proc = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...env, KEEPER_LEASE_MS: String(LEASE_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child never refreshed:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('REFRESHING')) {
        clearTimeout(timer);
        resolve(proc);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`the child exited (${code}):\n${out}`)));
  });
}

test('SIGKILL in the middle of a pass: the work is taken over, each due connection refreshed once', async () => {
  const now = Date.now;
  const prefix = `keeper-kill-${Date.now()}:`;
  stores = await openStores('redis', prefix, now, redis.url);
  const kp = keeperProvider(now, 'sliding');
  const r = replica(stores, kp, now, { leaseMs: LEASE_MS });
  for (let i = 0; i < 30; i++) await connectSubject(r.connections, `k${i}`, 10, now);

  child = await startChild(prefix);
  const exited = new Promise((res) => child!.once('exit', res));
  child.kill('SIGKILL');
  await exited;

  // Passes as a replica's loop would make them (each interval a new slot), until everything is refreshed.
  const giveUpAt = Date.now() + 20_000;
  let refreshed = 0;
  while (refreshed < 30 && Date.now() < giveUpAt) {
    refreshed += (await r.keeper.pass()).refreshed;
    if (refreshed < 30) await sleep(500);
  }
  expect(refreshed).toBe(30);
  for (let i = 0; i < 30; i++) expect(kp.calls.get(`rt-k${i}`)).toBe(1);
}, 60_000);

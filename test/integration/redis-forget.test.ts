/**
 * Outbox.forget on Redis reads its partition's kept set page by page (it has no index by group):
 * every page is read, and removing the group's entries leaves the other groups' entries whole.
 */
import { pino } from 'pino';
import { createClient } from 'redis';
import { createRedisStores, partitionOf } from '../../src/store/redis/index.js';
import { outboxKeys } from '../../src/store/redis/keys.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

test('forget removes a group from a kept set of many pages, counts only the live ones, and keeps the others', async () => {
  const prefix = `forget-${Date.now()}:`;
  const stores = await createRedisStores({ url: redis.url, ttlMs: 60_000, logger: pino({ level: 'silent' }), prefix });
  const admin = createClient({ url: redis.url });
  await admin.connect();
  try {
    const p = partitionOf('S');
    let other = 'X0';
    for (let i = 1; partitionOf(other) !== p; i++) other = `X${i}`; // a second group in the same partition
    const k = outboxKeys(prefix, p);
    const now = Date.now();
    const multi = admin.multi();
    for (let i = 0; i < 1400; i++) {
      const group = i % 2 === 0 ? 'S' : other;
      const id = `msg_${group}_${i}`;
      const expires = group === 'S' && i % 28 === 0 ? now - 1000 : now + 60_000 + i; // 50 of S's expired
      multi.hSet(k.dead, id, JSON.stringify({ group, value: 'v', createdAt: i, attempts: 1, diedAt: now }));
      multi.zAdd(k.deadExp, { score: expires, value: id });
      multi.zAdd(k.deadAt, { score: i, value: id });
    }
    await multi.exec();
    expect(await stores.outbox.forget('S', [])).toBe(650);
    expect(await admin.hLen(k.dead)).toBe(700);
    expect(await admin.zCard(k.deadExp)).toBe(700);
    expect(await admin.zCard(k.deadAt)).toBe(700);
    const left = await stores.outbox.deadLetters(1000);
    expect(left).toHaveLength(700);
    expect(left.every((d) => d.group === other)).toBe(true);
  } finally {
    await admin.quit();
    await stores.close();
  }
});

/**
 * Webhooks with two replicas sharing one Redis: each event delivered once, and a Redis outage
 * waited out. (The receiver: test/helpers/webhookReceiver.ts; the behaviour on the memory store:
 * webhooks-delivery.test.ts.)
 */
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { roundTripAcross } from '../helpers/replicas.js';
import { FAST, hookEnv, logLines, readyz } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webhooks on Redis', () => {
  let redis: RedisServer;
  const harnesses: Harness[] = [];
  let receiver: WebhookReceiver | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close();
    await receiver?.close();
    receiver = undefined;
  });
  afterAll(async () => {
    await redis.stop();
  });

  test('two replicas: 20 events made through both are each delivered once, in order per person', async () => {
    receiver = await startReceiver();
    // A little latency at the receiver, so both workers have claims in flight at once.
    receiver.answer = () => sleep(Math.random() * 20).then(() => 204);
    const env = { ...hookEnv(receiver), SESSION_STORE: 'redis', REDIS_URL: redis.url };
    const a = await startHarness({ env, app: { webhookTiming: FAST } });
    harnesses.push(a);
    const b = await startHarness({ env, app: { webhookTiming: FAST }, standIn: a.xt });
    harnesses.push(b);

    // 10 people at once: each logs in on one replica and disconnects through the other.
    await roundTripAcross(
      receiver,
      Array.from({ length: 10 }, (_, i) => String(30_000_000 + i)),
      [a, b],
    );
    expect(receiver.arrivals).toHaveLength(20);
    // Each delivery was made by exactly one replica (debug lines), and both took part.
    const delivered = [a, b].map((h) => logLines(h, 20, /^webhook delivered$/).length);
    expect(delivered[0]! + delivered[1]!).toBe(20);
    console.log(`webhooks, two replicas on Redis: deliveries per replica ${JSON.stringify(delivered)}`);
    for (const h of [a, b])
      expect((await readyz(h)).webhooks).toEqual({ pending: 0, oldestAgeSeconds: 0, disabled: false });
  }, 60_000);

  test('a Redis outage: the worker logs it (rate-limited), keeps going, and the waiting event is delivered once Redis is back', async () => {
    receiver = await startReceiver();
    let down = true;
    receiver.answer = () => (down ? 503 : 204);
    const h = await startHarness({
      env: { ...hookEnv(receiver), SESSION_STORE: 'redis', REDIS_URL: redis.url },
      app: { webhookTiming: FAST },
    });
    harnesses.push(h);
    expect((await connectXt(h.agent)).status).toBe(303);
    await receiver.waitFor(() => receiver!.arrivals.length >= 1, 5000, 'a first (refused) delivery');

    // A Redis that does not answer at all: /readyz still answers (503) within its deadline.
    redis.pause();
    const asked = Date.now();
    expect((await readyz(h)).status).toBe('unavailable');
    expect(Date.now() - asked).toBeLessThan(1500);
    redis.resume();

    await redis.stop(); // saved on shutdown, loaded at start: the outbox survives, as with a persistent Redis
    await sleep(1500);
    expect((await readyz(h)).status).toBe('unavailable');
    await redis.start();
    down = false;
    await receiver.waitFor(() => receiver!.accepted.length === 1, 15_000, 'the delivery after the outage');
    await sleep(200);
    expect(receiver.accepted[0]!.body.type).toBe('connection.created');
    expect(receiver.acceptedCount.get(receiver.accepted[0]!.id)).toBe(1);
    // Tried every 50 ms while Redis was away, logged once.
    expect(logLines(h, 40, /webhook delivery: the store did not answer/)).toHaveLength(1);
    expect((await readyz(h)).webhooks).toEqual({ pending: 0, oldestAgeSeconds: 0, disabled: false });
  }, 60_000);
});

/**
 * Replicas of the app on one shared Redis, as the Redis Cluster and Sentinel tests start them, and
 * webhooks across two replicas: the round trip both the Redis and the Redis Cluster tests run.
 */
import type { Express } from 'express';
import request from 'supertest';
import type { AppOptions } from '../../src/app.js';
import type { Env } from '../../src/config/index.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import type { TestClock } from './clock.js';
import { type Harness, connectXt, formToken, sidCookie, startHarness } from './harness.js';
import type { WebhookReceiver } from './webhookReceiver.js';

/** Two replicas of the app on one stand-in and one Redis (given by `env`), sharing a clock. */
export function replicas(env: () => Env) {
  let xt: XtStandIn | undefined;
  const harnesses: Harness[] = [];
  return {
    async standIn(opts: Parameters<typeof startXtStandIn>[0]) {
      xt = await startXtStandIn(opts);
      return xt;
    },
    async instance(clock: TestClock, extra: Env = {}, app: AppOptions = {}) {
      if (!xt) throw new Error('start the stand-in first');
      const h = await startHarness({
        standIn: xt,
        env: { SESSION_STORE: 'redis', ...env(), ...extra },
        app: { now: clock.now, ...app },
      });
      harnesses.push(h);
      return h;
    },
    async closeAll() {
      for (const h of harnesses.splice(0)) await h.close(); // each scans its own logs
      await xt?.close();
      xt = undefined;
    },
  };
}

/** Two replicas of the app, as the webhook tests drive them. */
interface Replica {
  built: { app: Express };
}

/**
 * People at once, each logging in on one replica (as XT.COM user `user`) and disconnecting through
 * the other; then the receiver must have accepted each of the 2 × people events exactly once,
 * `connection.created` before `connection.ended` for each person.
 */
export async function roundTripAcross(
  receiver: WebhookReceiver,
  people: string[],
  [a, b]: [Replica, Replica],
): Promise<void> {
  await Promise.all(
    people.map(async (user, i) => {
      const [here, there] = i % 2 ? [a, b] : [b, a];
      const cookie = sidCookie(await connectXt(request.agent(here.built.app), { asUser: user }));
      const account = await request(there.built.app).get('/account').set('Cookie', cookie);
      const out = await request(there.built.app)
        .post('/auth/xt/logout')
        .set('Cookie', cookie)
        .type('form')
        .send({ _csrf: formToken(account.text) });
      expect(out.status).toBe(303);
    }),
  );
  const expected = 2 * people.length;
  await receiver.waitFor(() => receiver.accepted.length >= expected, 15_000, `${expected} accepted events`);
  await new Promise((r) => setTimeout(r, 300)); // a duplicate would show up by now
  expect(receiver.badSignatures).toBe(0);
  expect(receiver.acceptedCount.size).toBe(expected);
  expect([...receiver.acceptedCount.values()].every((n) => n === 1)).toBe(true);
  for (const user of people) {
    expect(receiver.accepted.filter((x) => x.body.data.userId === user).map((x) => x.body.type)).toEqual([
      'connection.created',
      'connection.ended',
    ]);
  }
}

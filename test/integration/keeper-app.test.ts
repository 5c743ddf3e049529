/**
 * The keeper in the app, against the XT.COM stand-in and its own refresh-token options, with a clock
 * the test moves: a linked connection at a stand-in that does not rotate (the refresh token keeps its
 * first expiry) is refreshed once, found not to slide, and `connection.expiring` reaches the webhook
 * receiver once; at a stand-in that rotates (a new 20-day token each refresh) it is kept alive.
 */
import { testClock } from '../helpers/clock.js';
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { FAST, hookEnv } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const DAY = 86_400_000;
let h: Harness | undefined;
let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
});

async function linked(rotate: boolean) {
  const clock = testClock();
  receiver = await startReceiver();
  h = await startHarness({
    xt: { now: clock.now, refreshTtlSec: 20 * 86_400, rotateRefreshTokens: rotate },
    env: { ...hookEnv(receiver), ...linkEnv(), KEEPALIVE_INTERVAL: '1h' },
    app: { now: clock.now, webhookTiming: FAST },
  });
  expect((await connectXt(h.agent, { link: await linkToken('42') })).status).toBe(303);
  await receiver.waitFor(() => receiver!.accepted.length === 1, 5000, 'connection.created');
  return clock;
}

// Each event's first arrival, accepted or not: the moved clock signs timestamps days ahead, which the
// receiver's verifier refuses (and the event is retried).
const firsts = () => receiver!.arrivals.filter((a) => a.try === 1);
const types = () => firsts().map((a) => a.body.type as string);

test('a stand-in that does not rotate: refreshed once, then connection.expiring once (not_sliding)', async () => {
  const clock = await linked(false);
  clock.advance(10 * DAY); // 10 days left: due (KEEPALIVE_WINDOW 14d)
  expect((await h!.built.ctx.keeper.pass()).refreshed).toBe(0); // refreshed, but not extended: it does not slide
  expect(await h!.built.ctx.connections.read(ownerOf(), 'xt')).toMatchObject({ slides: false });
  clock.advance(4 * DAY); // 6 days left: within EXPIRY_WARNING
  expect((await h!.built.ctx.keeper.pass()).warned).toBe(1);
  clock.advance(DAY);
  expect((await h!.built.ctx.keeper.pass()).warned).toBe(0);
  await receiver!.waitFor(() => firsts().length >= 2, 5000, 'connection.expiring');
  await new Promise((r) => setTimeout(r, 300)); // a second one would have come by now
  expect(types()).toEqual(['connection.created', 'connection.expiring']);
  expect(firsts()[1]!.body.data).toMatchObject({ subject: '42', provider: 'xt', reason: 'not_sliding' });
}, 60_000);

test('a stand-in that rotates: kept alive, no warning', async () => {
  const clock = await linked(true);
  for (let day = 0; day < 60; day += 5) {
    clock.advance(5 * DAY);
    await h!.built.ctx.keeper.pass();
  }
  const rec = await h!.built.ctx.connections.read(ownerOf(), 'xt');
  expect(rec).toMatchObject({ status: 'active', slides: true });
  expect(rec!.refreshExpiresAt).toBeGreaterThan(clock.now() + 5 * DAY);
  expect(types()).toEqual(['connection.created']);
}, 60_000);

/** The subject's owner key (the app's Subjects). */
const ownerOf = () => h!.built.ctx.subjects.ownerOf('42');

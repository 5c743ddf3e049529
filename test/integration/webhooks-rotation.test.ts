/**
 * Rotating WEBHOOK_SECRET without losing an event (SQLite, real HTTP): the app runs with OLD, then
 * with `NEW,OLD` (one signature per secret), then with NEW; the receiver (the standardwebhooks
 * library's verifier, test/helpers/webhookReceiver.ts) switches from OLD to NEW midway. Every event,
 * including one pending across each restart and one retried across the receiver's switch, verifies.
 */
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { type Harness, TEST_SECRET, connectXt, startHarness, tempDir } from '../helpers/harness.js';
import { FAST, hookEnv } from '../helpers/webhooks.js';
import { type Arrival, type WebhookReceiver, startReceiver, webhookSecret } from '../helpers/webhookReceiver.js';

/** Verifies one arrival with `secret` alone. */
const verifiesWith = (a: Arrival, secret: string): boolean => {
  try {
    new Webhook(secret).verify(a.raw, a.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
};

describe('WEBHOOK_SECRET rotation', () => {
  let xt: XtStandIn | undefined;
  let h: Harness | undefined;
  let receiver: WebhookReceiver | undefined;

  afterEach(async () => {
    await h?.close();
    await xt?.close();
    await receiver?.close();
  });

  test('a receiver that switches from the old secret to the new midway loses nothing', async () => {
    const OLD = webhookSecret();
    const NEW = webhookSecret();
    xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    receiver = await startReceiver({ secret: OLD });
    const dataDir = tempDir('xtc-rotation-');
    const start = (secret: string) =>
      startHarness({
        standIn: xt,
        env: { ...hookEnv(receiver!), WEBHOOK_SECRET: secret, SESSION_STORE: 'sqlite', DATA_DIR: dataDir },
        app: { webhookTiming: FAST },
      });
    const accepted = (n: number, what: string) =>
      receiver!.waitFor(() => receiver!.accepted.length === n, 10_000, what);

    // Before: OLD only. The second event waits in the outbox (the receiver is down for it) across the restart.
    h = await start(OLD);
    expect((await connectXt(h.agent)).status).toBe(303);
    await accepted(1, 'the first event, signed with OLD');
    receiver.answer = () => 503;
    const second = request.agent(h.built.app);
    expect((await connectXt(second)).status).toBe(303);
    await receiver.waitFor(() => receiver!.arrivals.length >= 2, 10_000, 'a refused attempt');
    await h.close();

    // During: NEW,OLD. The pending event arrives with both signatures; the receiver still checks OLD.
    receiver.answer = () => 204;
    h = await start(`${NEW},${OLD}`);
    await accepted(2, 'the event pending across the restart');
    const both = receiver.accepted[1]!;
    expect(String(both.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifiesWith(both, NEW) && verifiesWith(both, OLD)).toBe(true);
    // An event refused while the receiver switches is retried, and verifies with NEW.
    receiver.answer = () => 503;
    expect((await connectXt(request.agent(h.built.app))).status).toBe(303);
    await receiver.waitFor(() => receiver!.arrivals.length >= 4, 10_000, 'a refused attempt during the switch');
    receiver.setSecret(NEW);
    receiver.answer = () => 204;
    await accepted(3, 'the retried event, checked with NEW');
    await h.close();

    // After: NEW only.
    h = await start(NEW);
    expect((await connectXt(h.agent)).status).toBe(303);
    await accepted(4, 'an event signed with NEW alone');
    const last = receiver.accepted[3]!;
    expect(String(last.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifiesWith(last, OLD)).toBe(false);

    expect(receiver.badSignatures).toBe(0);
    expect(receiver.arrivals.every((a) => a.verified)).toBe(true);
    expect(new Set(receiver.accepted.map((a) => a.id)).size).toBe(4);
    expect([...receiver.acceptedCount.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);
});

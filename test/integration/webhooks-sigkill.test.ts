/**
 * Webhooks survive a SIGKILL between the store write and the delivery: the real server as a child
 * process on SQLite, its first delivery held unanswered, then killed and restarted. (The receiver:
 * test/helpers/webhookReceiver.ts; the behaviour on the memory store: webhooks-delivery.test.ts.)
 */
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { type AppChild, appChild } from '../helpers/child.js';
import { SESSION_SECRET, TEST_SECRET, connectXt, scanLogs, tempDir, xtEnv } from '../helpers/harness.js';
import { freePort } from '../helpers/ports.js';
import { QUERY_TOKEN, hookEnv } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

describe('webhooks survive a SIGKILL between the store write and the delivery (SQLite)', () => {
  let xt: XtStandIn | undefined;
  let child: AppChild | undefined;
  let receiver: WebhookReceiver | undefined;

  afterEach(async () => {
    await child?.kill();
    await xt?.close();
    await receiver?.close();
  });

  test('the event held by the killed process is delivered after the restart', async () => {
    xt = await startXtStandIn({ clientSecret: TEST_SECRET });
    receiver = await startReceiver();
    receiver.answer = (a) => (a.try === 1 ? 'hold' : 204); // the first delivery never gets an answer
    const metricsPort = await freePort();
    const env = xtEnv(xt, {
      ...hookEnv(receiver),
      SESSION_STORE: 'sqlite',
      DATA_DIR: tempDir('xtc-hooks-'),
      LOG_LEVEL: 'info',
      METRICS_PORT: String(metricsPort),
    });
    child = appChild(await freePort(), env);
    await child.start();

    expect((await connectXt(request.agent(child.url))).status).toBe(303);
    await receiver.waitFor(() => receiver!.arrivals.length === 1, 10_000, 'the first delivery');
    const held = receiver.arrivals[0]!;
    await child.kill('SIGKILL');
    const killedAt = Date.now();

    const restart = performance.now();
    await child.start();
    const startMs = performance.now() - restart;
    await receiver.waitFor(() => receiver!.accepted.length === 1, 20_000, 'the delivery after the restart');
    const again = receiver.accepted[0]!;
    expect(again.id).toBe(held.id);
    expect(again.verified).toBe(true);
    expect(again.body.type).toBe('connection.created');
    expect(receiver.acceptedCount.get(held.id)).toBe(1);
    console.log(
      `webhooks SIGKILL (sqlite): redelivered ${again.at - killedAt} ms after the kill (the restart took ${Math.round(startMs)} ms; ${Math.round(
        again.at - killedAt - startMs,
      )} ms after it listened)`,
    );
    // The restarted process took the dead one's lease over at once, not after its 15 s.
    expect(again.at - killedAt).toBeLessThan(startMs + 5000);
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (r) => r.json() as Promise<{ webhooks: unknown }>,
    );
    expect(ready.webhooks).toEqual({ pending: 0, oldestAgeSeconds: 0, disabled: false });
    scanLogs(child.output(), [
      TEST_SECRET,
      SESSION_SECRET,
      receiver.secret,
      receiver.secret.slice(6),
      QUERY_TOKEN,
      ...xt.issued(),
    ]);
  }, 60_000);
});

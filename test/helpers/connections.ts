/** A Connections over a test store, and its outbox read back, for the unit tests of connections. */
import { pino } from 'pino';
import { Connections, type ConnectionOptions } from '../../src/session/connections/index.js';
import { type ConnectionEventBody, openEvent } from '../../src/session/connections/events.js';
import type { Sealer } from '../../src/session/crypto.js';
import type { AuthStore, Outbox } from '../../src/store/types.js';

/** Connections with the settings every unit test uses (webhooks on, silent log); `extra` adds or overrides. */
export function testConnections(
  o: { store: AuthStore; sealer: Sealer; now: () => number; providers: ConnectionOptions['providers'] },
  extra: Partial<ConnectionOptions> = {},
): Connections {
  return new Connections({
    ...o,
    logger: pino({ level: 'silent' }),
    skewMs: 60_000,
    backoffMaxMs: 60_000,
    lockMaxHoldMs: 25_000,
    maxTtlMs: 86_400_000,
    webhooks: true,
    ...extra,
  });
}

/** Every event waiting in the outbox, opened, in the order claimed; each is marked delivered. */
export async function drainEvents(
  outbox: Outbox,
  sealer: Sealer,
): Promise<{ owner: string; body: ConnectionEventBody }[]> {
  const out: { owner: string; body: ConnectionEventBody }[] = [];
  for (let batch = await outbox.claim(100, 60_000); batch.length > 0; batch = await outbox.claim(100, 60_000)) {
    for (const e of batch) {
      out.push({ owner: e.group, body: JSON.parse(openEvent(sealer, e)!) as ConnectionEventBody });
      await outbox.done(e.id, e.lease);
    }
  }
  return out;
}

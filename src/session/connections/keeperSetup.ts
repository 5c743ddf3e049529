/**
 * Builds the keeper (keeper.ts) from what Connections is made with: its own Records, BackChannel,
 * refresh locks and RefreshCall over the same store, so its refreshes take the same store lock and
 * make the same compare-and-set writes as every other refresh.
 */
import { LOCK_LEASE_MS, LOCK_RENEW_MS, REFRESH_WAIT_MS, RefreshLocks } from './lock.js';
import { Keeper } from './keeper.js';
import { KeepAlive } from './keepalive.js';
import { BackChannel } from './logoutIndex.js';
import type { ConnectionOptions } from './options.js';
import { Records } from './record.js';
import { RefreshCall } from './refreshCall.js';

export interface KeeperSettings {
  /** KEEPALIVE, KEEPALIVE_WINDOW, KEEPALIVE_INTERVAL, EXPIRY_WARNING (config/session.ts). */
  enabled: boolean;
  windowMs: number;
  intervalMs: number;
  warningMs: number;
  /** A slot from the XT.COM guard as caller 'keeper' (see KeepAliveOptions.xtSlot). */
  xtSlot?: (userId: string) => Promise<void>;
  /** Test hooks: the partition lease, and how soon a pass follows one that used up the budget. */
  leaseMs?: number;
  budgetRetryMs?: number;
}

export function createKeeper(opts: ConnectionOptions, settings: KeeperSettings): Keeper {
  const now = opts.now ?? Date.now;
  const timing = {
    lockLeaseMs: LOCK_LEASE_MS,
    lockRenewMs: LOCK_RENEW_MS,
    refreshWaitMs: REFRESH_WAIT_MS,
    ...opts.timing,
  };
  const locks = new RefreshLocks({ store: opts.store, logger: opts.logger, timing, maxHoldMs: opts.lockMaxHoldMs });
  const records = new Records({ ...opts, now });
  const backChannel = new BackChannel({ ...opts, records, now });
  const call = new RefreshCall({ ...opts, records, backChannel, now });
  const keepAlive = new KeepAlive({
    ...opts,
    ...settings,
    now,
    records,
    backChannel,
    locks,
    call,
    webhooks: !!opts.webhooks,
  });
  return new Keeper({ ...settings, store: opts.store, records, keepAlive, logger: opts.logger, now });
}

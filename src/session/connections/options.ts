/** What Connections is made with. */
import type { Logger } from 'pino';
import type { Provider } from '../../providers/types.js';
import type { Audit } from '../../shared/audit.js';
import type { Metrics } from '../../shared/metrics.js';
import type { Sealer } from '../crypto.js';
import type { AuthStore } from '../../store/types.js';
import type { LockTiming } from './lock.js';
import type { LogoutIndex } from './logoutIndex.js';

export interface ConnectionOptions {
  store: AuthStore;
  sealer: Sealer;
  providers: Map<string, Provider>;
  logger: Logger;
  now?: () => number;
  skewMs: number;
  backoffBaseMs?: number;
  backoffMaxMs: number;
  /**
   * How long a holder keeps renewing its lease while its refresh call runs: longer than the
   * provider timeout, so a slow refresh never outlives its lock (oauth2-proxy's 2 s did), but
   * bounded, so a call that never ends does not hold the lock for ever.
   */
  lockMaxHoldMs: number;
  /** A tombstone ("the connection ended") is kept this long so the person is told why. */
  tombstoneMs?: number;
  /**
   * The longest a session-bound connection is kept without its session being seen (SESSION_IDLE_TTL):
   * each write is capped here, and followSession() keeps it in step with its session after that.
   * A subject's connection lives as long as its refresh token (at most MAX_RECORD_MS).
   */
  maxTtlMs: number;
  /**
   * Test hook: the lease, renewal and wait of the refresh lock, scaled down so tests run the
   * same logic in less time. Unset (always, outside tests): LOCK_LEASE_MS, LOCK_RENEW_MS, REFRESH_WAIT_MS.
   */
  timing?: Partial<LockTiming>;
  /** Test hook: told the owner id each time a login stores a new token set (the owner never leaves the server). */
  onConnected?: (owner: string, provider: string) => void;
  /** Write a webhook event to the outbox with every connection that starts or ends (WEBHOOK_URL is set). */
  webhooks?: boolean;
  /** Told after an event has been stored, so this process's delivery worker can start at once. */
  onEvent?: () => void;
  /** xtc_refreshes_total. */
  metrics?: Metrics;
  /** refresh_rejected and disconnected lines. */
  audit?: Audit;
  /**
   * The back-channel logout index's keys: with it, each connection to a provider that takes
   * back-channel logouts is indexed by its provider session (`sid`) and user (`sub`).
   */
  logoutIndex?: LogoutIndex;
}

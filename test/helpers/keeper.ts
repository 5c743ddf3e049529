/** Keepers over real stores, with a provider whose refresh tokens slide or not, for the keeper's tests. */
import { pino } from 'pino';
import { AppError } from '../../src/errors.js';
import type { Provider } from '../../src/providers/types.js';
import { Sealer } from '../../src/session/crypto.js';
import type { Metrics } from '../../src/shared/metrics.js';
import type { ConnectionOptions } from '../../src/session/connections/index.js';
import type { Keeper } from '../../src/session/connections/keeper.js';
import { type KeeperSettings, createKeeper } from '../../src/session/connections/keeperSetup.js';
import { createRedisStores } from '../../src/store/redis/index.js';
import { createSqliteStores } from '../../src/store/sqlite/index.js';
import type { Stores } from '../../src/store/types.js';
import { stubProvider } from './providers.js';
import { testConnections } from './connections.js';

export const DAY = 86_400_000;
export const sealer = Sealer.fromConfig(['keeper-test-secret-keeper-test-secret-0123']);

/** An 'xt' provider: refreshes are counted per refresh token; `mode` says what a refresh returns. */
export interface KeeperProvider {
  provider: Provider;
  /** Refresh calls per refresh token presented. */
  calls: Map<string, number>;
  /** sliding: a new 180-day refresh token; short: a new 7-day one (shorter than KEEPALIVE_WINDOW); fixed: none. */
  mode: 'sliding' | 'short' | 'fixed' | 'failing';
}

export function keeperProvider(now: () => number, mode: KeeperProvider['mode']): KeeperProvider {
  const kp: KeeperProvider = { calls: new Map(), mode, provider: undefined as unknown as Provider };
  let n = 0;
  kp.provider = stubProvider({
    id: 'xt',
    refresh: async (token) => {
      kp.calls.set(token, (kp.calls.get(token) ?? 0) + 1);
      if (kp.mode === 'failing') throw new AppError('provider_down', { provider: 'xt' });
      const access = { accessToken: `at-${++n}`, accessExpiresAt: now() + 3_600_000 };
      // Sliding: a new refresh token with a new 180-day life (the stand-in's rotation); fixed: none (the old one keeps its expiry).
      if (kp.mode === 'fixed') return access;
      return { ...access, refreshToken: `${token}+r`, refreshExpiresAt: now() + (kp.mode === 'short' ? 7 : 180) * DAY };
    },
  });
  return kp;
}

export type StoreKind = 'sqlite' | 'redis';

/** Opens stores of `kind` at `place` (a SQLite directory or a Redis prefix), with the test's clock. */
export async function openStores(
  kind: StoreKind,
  place: string,
  now: () => number,
  redisUrl?: string,
): Promise<Stores> {
  if (kind === 'sqlite') return createSqliteStores({ dataDir: place, ttlMs: 60_000, now });
  return createRedisStores({ url: redisUrl!, ttlMs: 60_000, logger: pino({ level: 'silent' }), prefix: place, now });
}

/** A replica's Connections and keeper over `stores`. */
export function replica(
  stores: Stores,
  kp: KeeperProvider,
  now: () => number,
  settings: Partial<KeeperSettings> = {},
  metrics?: Metrics,
): { connections: ReturnType<typeof testConnections>; keeper: Keeper } {
  const base = { store: stores.authState, sealer, now, providers: new Map([['xt', kp.provider]]) };
  const connections = testConnections(base);
  const opts: ConnectionOptions = {
    ...base,
    logger: pino({ level: 'silent' }),
    skewMs: 60_000,
    backoffMaxMs: 60_000,
    lockMaxHoldMs: 25_000,
    maxTtlMs: DAY,
    webhooks: true,
    metrics,
  };
  const keeper = createKeeper(opts, {
    enabled: true,
    windowMs: 14 * DAY,
    intervalMs: 60_000,
    warningMs: 7 * DAY,
    leaseMs: 2000,
    ...settings,
  });
  return { connections, keeper };
}

/** A linked connection of subject `sub` whose refresh token `rt-<sub>` expires in `days`. */
export function connectSubject(
  connections: ReturnType<typeof testConnections>,
  sub: string,
  days: number,
  now: () => number,
) {
  return connections.connect(
    `sub.${sub}`,
    'xt',
    {
      accessToken: `at0-${sub}`,
      accessExpiresAt: now() + 3_600_000,
      refreshToken: `rt-${sub}`,
      refreshExpiresAt: now() + days * DAY,
      userId: `u-${sub}`,
    },
    sub,
  );
}

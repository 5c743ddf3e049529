/** A master found through Sentinel (REDIS_SENTINELS): `createSentinel`, which follows a failover. */
import { createSentinel } from 'redis';
import type { RedisConfig } from '../../config/redis.js';
import {
  type Common,
  type RedisConnection,
  type Reply,
  START_TIMEOUT_MS,
  countMatching,
  scanMatching,
  errorCode,
} from './connection.js';
import { applyTopologyDeadline, withDeadline } from './deadline.js';

export async function connectSentinel(
  cfg: Extract<RedisConfig, { mode: 'sentinel' }>,
  c: Common,
): Promise<RedisConnection> {
  const sentinel = createSentinel({
    name: cfg.name,
    sentinelRootNodes: cfg.sentinels,
    nodeClientOptions: c.nodeOptions,
    sentinelClientOptions: { socket: { connectTimeout: 5000, ...c.tls } },
  });
  sentinel.on('error', (err: unknown) => c.warn(err));
  sentinel.on('topology-change', (event: { type: string; node?: { host: string; port: number } }) => {
    if (event.type === 'MASTER_CHANGE' && event.node)
      c.logger.info({ node: `${event.node.host}:${event.node.port}` }, 'redis master (through Sentinel) connected');
  });
  applyTopologyDeadline(sentinel, c.commandTimeoutMs);
  try {
    await withDeadline(sentinel.connect(), START_TIMEOUT_MS);
  } catch (err) {
    await sentinel.destroy().catch(() => undefined);
    throw new Error(`cannot connect to Redis through REDIS_SENTINELS (${errorCode(err)})`);
  }
  c.connected();
  return {
    mode: 'sentinel',
    client: sentinel,
    sessionsClient: sentinel,
    rateLimitSend: { sendCommand: (...args: string[]) => sentinel.sendCommand<Reply>(false, args) },
    ping: async () => {
      await sentinel.ping();
    },
    countKeys: (match) => countMatching((args) => sentinel.sendCommand(true, args), match),
    scanKeys: (match, onKeys) => scanMatching((args) => sentinel.sendCommand(true, args), match, onKeys),
    close: () =>
      c.closeWithin(
        () => sentinel.close(),
        () => sentinel.destroy(),
      ),
  };
}

/** One Redis server (REDIS_URL, `redis://` or `rediss://`). */
import { createClient } from 'redis';
import type { RedisConfig } from '../../config/redis.js';
import {
  type Common,
  type RedisConnection,
  type Reply,
  type SingleClient,
  countMatching,
  scanMatching,
  destroyQuietly,
  errorCode,
} from './connection.js';
import { applyCommandDeadline } from './deadline.js';

export async function connectSingle(
  cfg: Extract<RedisConfig, { mode: 'single' }>,
  c: Common,
): Promise<RedisConnection> {
  const client: SingleClient = createClient({ url: cfg.url, ...c.nodeOptions });
  client.on('error', (err: unknown) => c.warn(err));
  const deadline = applyCommandDeadline(client, c.commandTimeoutMs);
  client.on('ready', () => {
    deadline.reset();
    c.connected();
    c.logger.info('redis connected');
  });
  try {
    await client.connect();
  } catch (err) {
    destroyQuietly(() => client.destroy());
    throw new Error(`cannot connect to Redis at REDIS_URL (${errorCode(err)})`);
  }
  return {
    mode: 'single',
    client,
    sessionsClient: client,
    rateLimitSend: { sendCommand: (...args: string[]) => client.sendCommand<Reply>(args) },
    ping: async () => {
      await client.ping();
    },
    countKeys: (match) => countMatching((args) => client.sendCommand(args), match),
    scanKeys: (match, onKeys) => scanMatching((args) => client.sendCommand(args), match, onKeys),
    close: () =>
      c.closeWithin(
        () => client.close(),
        () => client.destroy(),
      ),
  };
}

/** Store selection: SESSION_STORE=sqlite (default) | redis | memory. */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createMemoryStores } from './memory/index.js';
import { createSqliteStores } from './sqlite/index.js';
import type { Stores } from './types.js';

export async function createStores(config: Config, logger: Logger, now: () => number): Promise<Stores> {
  switch (config.session.store) {
    case 'memory':
      logger.warn(
        'SESSION_STORE=memory: sessions live in this process only and are lost on restart; use sqlite or redis outside tests',
      );
      return createMemoryStores(now);
    case 'redis': {
      const { createRedisStores } = await import('./redis/index.js');
      return createRedisStores({
        redis: config.redis,
        ttlMs: config.session.idleTtlMs,
        logger,
        now,
        commandTimeoutMs: config.redis?.commandTimeoutMs,
      });
    }
    case 'sqlite':
    default:
      return createSqliteStores({
        dataDir: config.server.dataDir,
        ttlMs: config.session.idleTtlMs,
        now,
        onSweepError: (err) => logger.warn({ err }, 'sweeping expired sessions failed; will retry'),
      });
  }
}

/**
 * What every topology shares (connect.ts picks one): the types, the node options (no offline queue,
 * PING, socket inactivity timeout, reconnecting), the rate-limited warning and a close that cannot hang.
 */
import type { Logger } from 'pino';
import type { createClient } from 'redis';
import type { RedisConfig } from '../../config/redis.js';
import { withDeadline } from './deadline.js';

export type SingleClient = ReturnType<typeof createClient>;

/** The key commands the stores use: a single client, a cluster and a Sentinel client all have them, with one signature. */
export type KeyClient = Pick<
  SingleClient,
  | 'eval'
  | 'get'
  | 'zAdd'
  | 'set'
  | 'del'
  | 'pTTL'
  | 'exists'
  | 'hLen'
  | 'hVals'
  | 'zRangeWithScores'
  | 'zRangeByScoreWithScores'
>;

export type Reply = never;
/** rate-limit-redis's two ways of sending a command (a cluster needs the key, to route it). */
export type RateLimitSend =
  | { sendCommand: (...args: string[]) => Promise<Reply> }
  | { sendCommandCluster: (c: { key?: string; isReadOnly: boolean; command: string[] }) => Promise<Reply> };

export interface RedisConnection {
  mode: RedisConfig['mode'];
  client: KeyClient;
  /** What connect-redis takes (it knows a cluster; a Sentinel client has the same key commands as a single one). */
  sessionsClient: unknown;
  rateLimitSend: RateLimitSend;
  /** Resolves when every master answers a PING (one server: that server). */
  ping(): Promise<void>;
  /** How many keys match the SCAN pattern `match`, on every master (SCAN may count a key twice while the keyspace is rehashed). */
  countKeys(match: string): Promise<number>;
  /** SCANs for the keys matching `match` on every master (one server: that one), handing each batch to `onKeys` in turn. */
  scanKeys(match: string, onKeys: (keys: string[]) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  logger: Logger;
  /** REDIS_COMMAND_TIMEOUT. */
  commandTimeoutMs: number;
}

type Send = (args: string[]) => Promise<unknown>;

/** SCAN through one node's keys with `send` (COUNT 1000 a call, never KEYS), handing each batch that matches to `onKeys`. */
export async function scanMatching(
  send: Send,
  match: string,
  onKeys: (keys: string[]) => Promise<void>,
): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = (await send(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'])) as [unknown, unknown[]];
    cursor = String(next);
    if (keys.length > 0) await onKeys(keys.map(String));
  } while (cursor !== '0');
}

/** SCAN through one node's keys with `send`, counting those that match. */
export async function countMatching(send: Send, match: string): Promise<number> {
  let n = 0;
  await scanMatching(send, match, async (keys) => {
    n += keys.length;
  });
  return n;
}

/** Drops a client that failed to start (it may be closed already). */
export function destroyQuietly(destroy: () => unknown): void {
  try {
    destroy();
  } catch {
    /* already closed */
  }
}

/** How long a cluster or Sentinel may take to be found and connected at start. */
export const START_TIMEOUT_MS = 15_000;

export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : 'unknown error';
}

/** The shared setup of one connection: its node options and the callbacks each topology reports to. */
export interface Common {
  logger: Logger;
  commandTimeoutMs: number;
  /** TLS for the nodes (and Sentinel's own clients), when REDIS_URL or REDIS_TLS asks for it. */
  tls: ReturnType<typeof tlsOf>;
  nodeOptions: ReturnType<typeof nodeOptionsOf>;
  warn(err: unknown, node?: { host: string; port: number }): void;
  /** Once connected, the socket reconnects for ever instead of giving up. */
  connected(): void;
  /** close() waits for pending replies; a hung server would keep it waiting for ever (the socket's inactivity timeout still ends the connection). */
  closeWithin(close: () => Promise<unknown>, destroy: () => unknown): Promise<void>;
}

const tlsOf = (cfg: RedisConfig) => (cfg.tls ? { tls: true as const, ...(cfg.ca ? { ca: cfg.ca } : {}) } : {});

function nodeOptionsOf(cfg: RedisConfig, commandTimeoutMs: number, tls: Common['tls'], everConnected: () => boolean) {
  // A PING every pingInterval keeps a healthy idle connection busy; a connection that has been
  // silent for longer than socketTimeout (nothing written or read: see deadline.ts) is hung,
  // and node-redis replaces it.
  const pingInterval = Math.max(1000, 2 * commandTimeoutMs);
  const socket = {
    connectTimeout: 5000,
    socketTimeout: pingInterval + 3 * commandTimeoutMs,
    // At start, fail fast with a clear message; once up, keep reconnecting for as long as it takes.
    reconnectStrategy: (retries: number, cause: Error) =>
      everConnected()
        ? Math.min(100 * 2 ** Math.min(retries, 5), 2000)
        : retries >= 3
          ? new Error(`gave up after ${retries} attempts (${cause.message})`)
          : 200,
    ...tls,
  };
  return {
    disableOfflineQueue: true,
    pingInterval,
    ...(cfg.username ? { username: cfg.username } : {}),
    ...(cfg.password ? { password: cfg.password } : {}),
    socket,
  };
}

export function commonOf(cfg: RedisConfig, opts: ConnectOptions): Common {
  const { logger, commandTimeoutMs } = opts;
  let everConnected = false;
  let lastErrorLog = 0;
  const tls = tlsOf(cfg);
  return {
    logger,
    commandTimeoutMs,
    tls,
    nodeOptions: nodeOptionsOf(cfg, commandTimeoutMs, tls, () => everConnected),
    warn: (err, node) => {
      // Never crash on a lost connection; log at most every 10 s while it is down.
      if (Date.now() - lastErrorLog > 10_000) {
        lastErrorLog = Date.now();
        logger.warn(
          { code: (err as { code?: unknown })?.code, ...(node ? { node: `${node.host}:${node.port}` } : {}) },
          'redis is not reachable; retrying',
        );
      }
    },
    connected: () => {
      everConnected = true;
    },
    closeWithin: async (close, destroy) => {
      try {
        await withDeadline(close(), 2 * commandTimeoutMs);
      } catch {
        try {
          await destroy();
        } catch {
          /* already closed */
        }
      }
    },
  };
}

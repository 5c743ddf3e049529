/**
 * Connecting to Redis with node-redis's own clients: one server (REDIS_URL, `redis://` or
 * `rediss://`), a cluster (REDIS_CLUSTER_NODES: `createCluster`, one client per master, commands
 * routed by key slot) or a master found through Sentinel (REDIS_SENTINELS: `createSentinel`, which
 * follows a failover).
 *
 * Every kind is treated alike: no offline queue (a command fails at once while its node is away,
 * so requests get a 503 instead of hanging), a PING every pingInterval, a socket inactivity timeout,
 * the command deadline (deadline.ts), reconnecting for ever once up but failing fast at start,
 * and a warning at most every 10 s while a node is unreachable. REDIS_CA_FILE's certificates are
 * the only ones trusted for TLS; REDIS_USERNAME and REDIS_PASSWORD authenticate every node.
 */
import type { Logger } from 'pino';
import { createClient, createCluster, createSentinel } from 'redis';
import type { RedisConfig } from '../../config.js';
import { applyCommandDeadline, applyTopologyDeadline, withDeadline } from './deadline.js';

type SingleClient = ReturnType<typeof createClient>;

/** The key commands the stores use: a single client, a cluster and a Sentinel client all have them, with one signature. */
export type KeyClient = Pick<
  SingleClient,
  'eval' | 'get' | 'set' | 'del' | 'pTTL' | 'exists' | 'hLen' | 'hVals' | 'zRangeWithScores' | 'zRangeByScoreWithScores'
>;

type Reply = never;
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
  close(): Promise<void>;
}

export interface ConnectOptions {
  logger: Logger;
  /** REDIS_COMMAND_TIMEOUT. */
  commandTimeoutMs: number;
}

/** SCAN through one node's keys with `send`, counting those that match. */
async function countMatching(send: (args: string[]) => Promise<unknown>, match: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = (await send(['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'])) as [unknown, unknown[]];
    cursor = String(next);
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

/** How long a cluster or Sentinel may take to be found and connected at start. */
const START_TIMEOUT_MS = 15_000;

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : 'unknown error';
}

export async function connectRedis(cfg: RedisConfig, opts: ConnectOptions): Promise<RedisConnection> {
  const { logger, commandTimeoutMs } = opts;
  let everConnected = false;
  let lastErrorLog = 0;
  const warn = (err: unknown, node?: { host: string; port: number }) => {
    // Never crash on a lost connection; log at most every 10 s while it is down.
    if (Date.now() - lastErrorLog > 10_000) {
      lastErrorLog = Date.now();
      logger.warn({ code: (err as { code?: unknown })?.code, ...(node ? { node: `${node.host}:${node.port}` } : {}) }, 'redis is not reachable; retrying');
    }
  };
  // A PING every pingInterval keeps a healthy idle connection busy; a connection that has been
  // silent for longer than socketTimeout (nothing written or read: see deadline.ts) is hung,
  // and node-redis replaces it.
  const pingInterval = Math.max(1000, 2 * commandTimeoutMs);
  const tls = cfg.tls ? { tls: true as const, ...(cfg.ca ? { ca: cfg.ca } : {}) } : {};
  const socket = {
    connectTimeout: 5000,
    socketTimeout: pingInterval + 3 * commandTimeoutMs,
    // At start, fail fast with a clear message; once up, keep reconnecting for as long as it takes.
    reconnectStrategy: (retries: number, cause: Error) =>
      everConnected ? Math.min(100 * 2 ** Math.min(retries, 5), 2000) : retries >= 3 ? new Error(`gave up after ${retries} attempts (${cause.message})`) : 200,
    ...tls,
  };
  const nodeOptions = {
    disableOfflineQueue: true,
    pingInterval,
    ...(cfg.username ? { username: cfg.username } : {}),
    ...(cfg.password ? { password: cfg.password } : {}),
    socket,
  };
  /** close() waits for pending replies; a hung server would keep it waiting for ever (the socket's inactivity timeout still ends the connection). */
  const closeWithin = async (close: () => Promise<unknown>, destroy: () => unknown) => {
    try {
      await withDeadline(close(), 2 * commandTimeoutMs);
    } catch {
      try {
        await destroy();
      } catch {
        /* already closed */
      }
    }
  };

  if (cfg.mode === 'single') {
    const client: SingleClient = createClient({ url: cfg.url, ...nodeOptions });
    client.on('error', (err: unknown) => warn(err));
    const deadline = applyCommandDeadline(client, commandTimeoutMs);
    client.on('ready', () => {
      deadline.reset();
      everConnected = true;
      logger.info('redis connected');
    });
    try {
      await client.connect();
    } catch (err) {
      try {
        client.destroy();
      } catch {
        /* already closed */
      }
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
      close: () =>
        closeWithin(
          () => client.close(),
          () => client.destroy(),
        ),
    };
  }

  if (cfg.mode === 'cluster') {
    const cluster = createCluster({
      rootNodes: cfg.nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
      defaults: nodeOptions,
    });
    cluster.on('error', (err: unknown) => warn(err));
    cluster.on('node-error', (err: unknown, node: { host: string; port: number }) => warn(err, node));
    cluster.on('node-ready', (node: { host: string; port: number }) => logger.info({ node: `${node.host}:${node.port}` }, 'redis cluster node connected'));
    const deadline = applyTopologyDeadline(cluster, commandTimeoutMs);
    try {
      await withDeadline(cluster.connect(), START_TIMEOUT_MS);
    } catch (err) {
      try {
        cluster.destroy();
      } catch {
        /* already closed */
      }
      throw new Error(`cannot connect to the Redis cluster at REDIS_CLUSTER_NODES (${errorCode(err)})`);
    }
    everConnected = true;
    logger.info({ masters: cluster.masters.length }, 'redis cluster connected');
    return {
      mode: 'cluster',
      client: cluster,
      sessionsClient: cluster,
      rateLimitSend: {
        sendCommandCluster: ({ key, isReadOnly, command }) => cluster.sendCommand<Reply>(key, isReadOnly, command),
      },
      // Every master: a key on a master that is away is as unavailable as the whole store.
      ping: () =>
        withDeadline(
          (async () => {
            const masters = cluster.masters;
            if (masters.length === 0) throw new Error('no cluster master known');
            await Promise.all(
              masters.map(async (m) => {
                const node = await cluster.nodeClient(m);
                deadline.watch(node);
                await node.ping();
              }),
            );
          })(),
          commandTimeoutMs,
        ),
      countKeys: async (match) => {
        const counts = await Promise.all(
          cluster.masters.map(async (m) => {
            const node = await cluster.nodeClient(m);
            deadline.watch(node);
            return countMatching((args) => node.sendCommand(args), match);
          }),
        );
        return counts.reduce((sum, n) => sum + n, 0);
      },
      close: () =>
        closeWithin(
          () => cluster.close(),
          () => cluster.destroy(),
        ),
    };
  }

  const sentinel = createSentinel({
    name: cfg.name,
    sentinelRootNodes: cfg.sentinels,
    nodeClientOptions: nodeOptions,
    sentinelClientOptions: { socket: { connectTimeout: 5000, ...tls } },
  });
  sentinel.on('error', (err: unknown) => warn(err));
  sentinel.on('topology-change', (event: { type: string; node?: { host: string; port: number } }) => {
    if (event.type === 'MASTER_CHANGE' && event.node)
      logger.info({ node: `${event.node.host}:${event.node.port}` }, 'redis master (through Sentinel) connected');
  });
  applyTopologyDeadline(sentinel, commandTimeoutMs);
  try {
    await withDeadline(sentinel.connect(), START_TIMEOUT_MS);
  } catch (err) {
    await sentinel.destroy().catch(() => undefined);
    throw new Error(`cannot connect to Redis through REDIS_SENTINELS (${errorCode(err)})`);
  }
  everConnected = true;
  return {
    mode: 'sentinel',
    client: sentinel,
    sessionsClient: sentinel,
    rateLimitSend: { sendCommand: (...args: string[]) => sentinel.sendCommand<Reply>(false, args) },
    ping: async () => {
      await sentinel.ping();
    },
    countKeys: (match) => countMatching((args) => sentinel.sendCommand(true, args), match),
    close: () =>
      closeWithin(
        () => sentinel.close(),
        () => sentinel.destroy(),
      ),
  };
}

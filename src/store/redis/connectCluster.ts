/** A Redis Cluster (REDIS_CLUSTER_NODES): `createCluster`, one client per master, commands routed by key slot. */
import { createCluster } from 'redis';
import type { RedisConfig } from '../../config/redis.js';
import {
  type Common,
  type RedisConnection,
  type Reply,
  START_TIMEOUT_MS,
  scanMatching,
  destroyQuietly,
  errorCode,
} from './connection.js';
import { applyTopologyDeadline, withDeadline } from './deadline.js';

/** The cluster client over the root nodes, its errors warned of and its nodes' connections logged. */
function newCluster(cfg: Extract<RedisConfig, { mode: 'cluster' }>, c: Common) {
  const cluster = createCluster({
    rootNodes: cfg.nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
    defaults: c.nodeOptions,
  });
  cluster.on('error', (err: unknown) => c.warn(err));
  cluster.on('node-error', (err: unknown, node: { host: string; port: number }) => c.warn(err, node));
  cluster.on('node-ready', (node: { host: string; port: number }) =>
    c.logger.info({ node: `${node.host}:${node.port}` }, 'redis cluster node connected'),
  );
  return cluster;
}

type NodeClient = { sendCommand(args: string[]): Promise<unknown> };

/** SCAN on every master at once (see RedisConnection.scanKeys). */
async function scanEveryMaster(
  masters: Promise<NodeClient>[],
  match: string,
  onKeys: (keys: string[]) => Promise<void>,
): Promise<void> {
  await Promise.all(
    masters.map(async (client) => scanMatching((args) => client.then((n) => n.sendCommand(args)), match, onKeys)),
  );
}

export async function connectCluster(
  cfg: Extract<RedisConfig, { mode: 'cluster' }>,
  c: Common,
): Promise<RedisConnection> {
  const { logger, commandTimeoutMs } = c;
  const cluster = newCluster(cfg, c);
  const deadline = applyTopologyDeadline(cluster, commandTimeoutMs);
  try {
    await withDeadline(cluster.connect(), START_TIMEOUT_MS);
  } catch (err) {
    destroyQuietly(() => cluster.destroy());
    throw new Error(`cannot connect to the Redis cluster at REDIS_CLUSTER_NODES (${errorCode(err)})`);
  }
  c.connected();
  logger.info({ masters: cluster.masters.length }, 'redis cluster connected');
  /** A client for each master, under the command deadline. */
  const masterClients = () =>
    cluster.masters.map(async (m) => {
      const node = await cluster.nodeClient(m);
      deadline.watch(node);
      return node;
    });
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
          if (cluster.masters.length === 0) throw new Error('no cluster master known');
          await Promise.all(masterClients().map(async (node) => (await node).ping()));
        })(),
        commandTimeoutMs,
      ),
    countKeys: async (match) => {
      let n = 0;
      await scanEveryMaster(masterClients(), match, async (keys) => {
        n += keys.length;
      });
      return n;
    },
    scanKeys: (match, onKeys) => scanEveryMaster(masterClients(), match, onKeys),
    close: () =>
      c.closeWithin(
        () => cluster.close(),
        () => cluster.destroy(),
      ),
  };
}

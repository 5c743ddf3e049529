/**
 * A real local Redis Cluster for tests: 3 masters without replicas, started on free loopback ports
 * in temp directories (redisProcess.ts), and stopped (by the pids we started) with stop().
 * A master watched by Sentinel is in redisSentinel.ts, a TLS-only redis-server in redisTls.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './harness.js';
import { type Proc, ask, freePorts, run, spawnRedis, stopProc, waitFor } from './redisProcess.js';

export interface RedisCluster {
  /** `127.0.0.1:P1,127.0.0.1:P2,…`, as REDIS_CLUSTER_NODES takes it. */
  nodesEnv: string;
  nodes: { host: string; port: number }[];
  /** Deletes every key on every master. */
  flushAll(): Promise<void>;
  /** SIGSTOP master `i`: it keeps its sockets open but answers nothing (a hung node). */
  pause(i: number): void;
  /** SIGCONT after pause(i). */
  resume(i: number): void;
  stop(): Promise<void>;
}

/**
 * A cluster of `masters` masters without replicas: each `redis-server --cluster-enabled yes` in its
 * own temp directory, joined by `redis-cli --cluster create`, ready once every node says
 * `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const ports = await freePorts(masters * 2);
  const procs: Proc[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = ports[2 * i]!;
      const dir = tempDir('xtc-redis-cluster-');
      procs.push(
        spawnRedis(
          [
            '--port',
            String(port),
            '--cluster-port',
            String(ports[2 * i + 1]),
            '--bind',
            '127.0.0.1',
            '--dir',
            dir,
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            path.join(dir, 'nodes.conf'),
            '--cluster-node-timeout',
            '5000',
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          port,
          dir,
        ),
      );
    }
    for (const p of procs)
      await waitFor(`redis-server on ${p.port}`, async () => (await ask(p.port, 'PING')).startsWith('+PONG'), 10_000);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...procs.map((p) => `127.0.0.1:${p.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    for (const p of procs)
      await waitFor(
        `cluster node ${p.port}`,
        async () => (await ask(p.port, 'CLUSTER INFO')).includes('cluster_state:ok'),
        20_000,
      );
  } catch (err) {
    await Promise.all(procs.map(stopProc));
    throw err;
  }
  const nodes = procs.map((p) => ({ host: '127.0.0.1', port: p.port }));
  const paused = new Set<number>();
  const signal = (i: number, sig: NodeJS.Signals) => {
    const pid = procs[i]?.proc.pid;
    if (pid === undefined || procs[i]!.proc.exitCode !== null) throw new Error(`cluster node ${i} is not running`);
    process.kill(pid, sig);
  };
  return {
    nodes,
    nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    flushAll: async () => {
      for (const p of procs)
        if ((await ask(p.port, 'FLUSHALL')) !== '+OK\r\n') throw new Error(`FLUSHALL on ${p.port} failed`);
    },
    pause(i) {
      signal(i, 'SIGSTOP');
      paused.add(i);
    },
    resume(i) {
      if (paused.delete(i)) signal(i, 'SIGCONT');
    },
    stop: async () => {
      for (const i of paused) signal(i, 'SIGCONT'); // a stopped process would never handle SIGTERM
      paused.clear();
      await Promise.all(procs.map(stopProc));
      for (const p of procs) fs.rmSync(p.dir, { recursive: true, force: true });
    },
  };
}

/**
 * A real Redis master watched by one Sentinel, for tests: started on free loopback ports in temp
 * directories (redisProcess.ts), and stopped (by the pids we started) with stop().
 */
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './harness.js';
import { type Proc, ask, freePorts, spawnRedis, stopProc, waitFor } from './redisProcess.js';

export interface RedisSentinel {
  /** `127.0.0.1:S`, as REDIS_SENTINELS takes it. */
  sentinelsEnv: string;
  /** The name the master is monitored under (REDIS_SENTINEL_NAME). */
  name: string;
  masterPort: number;
  stop(): Promise<void>;
}

/**
 * One master and one sentinel monitoring it (quorum 1), ready once the sentinel names the master.
 * With `auth`, the master knows only that ACL user (the default user is off) and the sentinel
 * logs in as it; the sentinel itself asks for no password.
 */
export async function startRedisSentinel(
  opts: { name?: string; auth?: { username: string; password: string } } = {},
): Promise<RedisSentinel> {
  const name = opts.name ?? 'mymaster';
  const auth = opts.auth;
  const [masterPort, sentinelPort] = await freePorts(2);
  const masterDir = tempDir('xtc-redis-master-');
  const sentinelDir = tempDir('xtc-redis-sentinel-');
  const conf = path.join(sentinelDir, 'sentinel.conf');
  // The sentinel rewrites its config file, so it must be a file of its own in a writable place.
  fs.writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${sentinelDir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} 5000`,
      ...(auth ? [`sentinel auth-user ${name} ${auth.username}`, `sentinel auth-pass ${name} ${auth.password}`] : []),
      '',
    ].join('\n'),
  );
  const procs: Proc[] = [];
  try {
    const acl = auth
      ? ['--user', 'default', 'off', '--user', auth.username, 'on', `>${auth.password}`, '~*', '&*', '+@all']
      : [];
    procs.push(
      spawnRedis(
        [
          '--port',
          String(masterPort),
          '--bind',
          '127.0.0.1',
          '--dir',
          masterDir,
          '--save',
          '',
          '--appendonly',
          'no',
          ...acl,
        ],
        masterPort!,
        masterDir,
      ),
    );
    await waitFor('sentinel master', async () => /^(\+PONG|-NOAUTH)/.test(await ask(masterPort!, 'PING')), 10_000);
    procs.push(spawnRedis([conf, '--sentinel'], sentinelPort!, sentinelDir));
    await waitFor(
      'sentinel',
      async () => (await ask(sentinelPort!, `SENTINEL get-master-addr-by-name ${name}`)).includes(String(masterPort)),
      10_000,
    );
  } catch (err) {
    await Promise.all(procs.map(stopProc));
    throw err;
  }
  return {
    sentinelsEnv: `127.0.0.1:${sentinelPort}`,
    name,
    masterPort: masterPort!,
    stop: async () => {
      await Promise.all(procs.reverse().map(stopProc));
      for (const dir of [masterDir, sentinelDir]) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

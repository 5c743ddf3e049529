/**
 * Redis beyond one server, for tests: a real local Redis Cluster of 3 masters, a master watched by
 * one Sentinel, and a redis-server that speaks TLS only. Each is started on free loopback ports in
 * temp directories, and stopped (by the pids we started) with stop().
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './harness.js';
import { freePort } from './ports.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One redis-server (or sentinel) process of ours. */
interface Proc {
  proc: ChildProcess;
  port: number;
  dir: string;
}

function spawnRedis(args: string[], port: number, dir: string): Proc {
  const proc = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.once('error', () => undefined);
  proc.stderr?.resume();
  return { proc, port, dir };
}

async function stopProc(p: Proc): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A plain-text command on a fresh connection (enough for PING, CLUSTER INFO, SENTINEL …). */
function ask(port: number, command: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.once('connect', () => s.write(`${command}\r\n`));
    s.on('data', (d) => {
      out += d.toString();
      // A bulk string reply is complete once its announced length has arrived.
      const m = /^\$(\d+)\r\n/.exec(out);
      if (!m || out.length >= m[0].length + Number(m[1]) + 2) {
        s.destroy();
        resolve(out);
      }
    });
    s.once('error', () => resolve(''));
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(out);
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what}: not ready after ${ms} ms`);
}

/** Two distinct free ports (a cluster node needs its own bus port). */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

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

export interface RedisTls {
  /** `rediss://127.0.0.1:P`. */
  url: string;
  /** The CA's certificate (PEM), as REDIS_CA_FILE names it. */
  caFile: string;
  /** A certificate of another CA, which the server's certificate does not chain to. */
  otherCaFile: string;
  stop(): Promise<void>;
}

/** Whether this redis-server was built with TLS (Debian's is). */
export async function redisHasTls(): Promise<boolean> {
  try {
    const { stdout } = await run('ldd', [(await run('sh', ['-c', 'command -v redis-server'])).stdout.trim()]);
    return /libssl/.test(stdout);
  } catch {
    return false;
  }
}

/**
 * A redis-server that listens with TLS only (`--port 0 --tls-port P`) under a certificate for
 * 127.0.0.1 from a self-signed CA made here with openssl; clients need no certificate.
 */
export async function startRedisTls(): Promise<RedisTls> {
  const dir = tempDir('xtc-redis-tls-');
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir, timeout: 30_000 });
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=xtc test CA',
  );
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('other.key'),
    '-out',
    f('other.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=another CA',
  );
  await ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  );
  fs.writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
  );
  const [port] = await freePorts(1);
  const p = spawnRedis(
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--tls-cert-file',
      f('server.crt'),
      '--tls-key-file',
      f('server.key'),
      '--tls-ca-cert-file',
      f('ca.crt'),
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    port!,
    dir,
  );
  try {
    await waitFor(`redis-server (TLS) on ${port}`, () => tlsPingable(port!, f('ca.crt')), 10_000);
  } catch (err) {
    await stopProc(p);
    throw err;
  }
  return {
    url: `rediss://127.0.0.1:${port}`,
    caFile: f('ca.crt'),
    otherCaFile: f('other.crt'),
    stop: async () => {
      await stopProc(p);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function tlsPingable(port: number, caFile: string): Promise<boolean> {
  const tls = await import('node:tls');
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(caFile) }, () => s.write('PING\r\n'));
    s.once('data', (d: Buffer) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

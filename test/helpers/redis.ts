/** A real redis-server of our own on a free loopback port, which tests can stop and start again. */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from './ports.js';
import { tempDir } from './harness.js';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets open but answers nothing (a hung server, as in a partition). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not become ready');
}

async function pingable(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.write('PING\r\n');
    });
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = tempDir('xtc-redis-');
  let proc: ChildProcess | undefined;
  let paused = false;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      // Data is saved on shutdown and loaded at start, so a restart keeps the sessions.
      proc = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--dbfilename',
          'dump.rdb',
        ],
        { stdio: 'ignore' },
      );
      proc.once('error', () => undefined);
      await waitFor(() => pingable(port), 10_000);
    },
    pause() {
      if (!proc?.pid || proc.exitCode !== null) throw new Error('redis-server is not running');
      process.kill(proc.pid, 'SIGSTOP');
      paused = true;
    },
    resume() {
      if (!paused || !proc?.pid) return;
      process.kill(proc.pid, 'SIGCONT');
      paused = false;
    },
    async stop() {
      if (!proc || proc.exitCode !== null) return;
      server.resume(); // a stopped process would never answer SHUTDOWN
      const exited = new Promise((r) => proc!.once('exit', r));
      const net = await import('node:net');
      const s = net.connect(port, '127.0.0.1', () => s.write('SHUTDOWN SAVE\r\n'));
      s.on('error', () => undefined);
      await exited;
      s.destroy();
    },
  };
  await server.start();
  return server;
}

/**
 * The two shared stores a test runs against, for `describe.each`: SQLite in a new DATA_DIR, and a
 * redis-server of the test's own, started on first use; `stop()` (in afterAll) stops it.
 */
export function storeEnvs(tempDir: () => string): {
  stores: [string, () => Promise<Record<string, string>>][];
  stop: () => Promise<void>;
} {
  let redis: RedisServer | undefined;
  return {
    stores: [
      ['sqlite', async () => ({ SESSION_STORE: 'sqlite', DATA_DIR: tempDir() })],
      ['redis', async () => ({ SESSION_STORE: 'redis', REDIS_URL: (redis ??= await startRedis()).url })],
    ],
    stop: async () => redis?.stop(),
  };
}

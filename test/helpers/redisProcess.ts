/**
 * The redis-server processes the Redis topology helpers start (redisCluster.ts, redisSentinel.ts,
 * redisTls.ts): each on free loopback ports in a temp directory of its own, asked in plain text
 * whether it is ready, and stopped by the pid we started.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

export const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One redis-server (or sentinel) process of ours. */
export interface Proc {
  proc: ChildProcess;
  port: number;
  dir: string;
}

export function spawnRedis(args: string[], port: number, dir: string): Proc {
  const proc = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.once('error', () => undefined);
  proc.stderr?.resume();
  return { proc, port, dir };
}

export async function stopProc(p: Proc): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A plain-text command on a fresh connection (enough for PING, CLUSTER INFO, SENTINEL …). */
export function ask(port: number, command: string): Promise<string> {
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

export async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what}: not ready after ${ms} ms`);
}

/** Two distinct free ports (a cluster node needs its own bus port). */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

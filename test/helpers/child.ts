/**
 * The real server (src/server.ts under tsx) as a child process, so tests can SIGKILL it in the
 * middle of its work and start it again on the same port and store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../src/app.js';
import type { Env } from '../../src/config/index.js';

export interface AppChild {
  url: string;
  /** Starts the server (again) with the same environment; resolves once it listens. */
  start(): Promise<void>;
  /** Sends `signal` (SIGKILL by default) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Everything the process wrote so far (its JSON log lines), across restarts. */
  output(): string;
}

export function appChild(port: number, env: Env): AppChild {
  let proc: ChildProcess | undefined;
  let out = '';
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    output: () => out,
    async start() {
      if (proc && proc.exitCode === null && proc.signalCode === null) throw new Error('the child is already running');
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'server.ts')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, PORT: String(port), PUBLIC_URL: url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      proc = child;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the app did not start within 20 s:\n${out.slice(-2000)}`)),
          20_000,
        );
        let mine = '';
        const onData = (d: Buffer) => {
          out += d.toString('utf8');
          mine += d.toString('utf8');
          if (mine.includes('xt-connect listening')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the app exited at start (${code ?? signal}):\n${out.slice(-2000)}`));
        });
      });
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill(signal);
      await exited;
    },
  };
}

/**
 * What the HTTP benchmarks share: servers as their own processes (each prints `READY <url>`),
 * CPU time read from /proc, autocannon as a separate process, and percentiles. The app and the
 * XT.COM stand-in they run are started by ./apps.ts.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const AUTOCANNON = path.join(ROOT, 'node_modules/.bin/autocannon');

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

export interface Proc {
  child: ChildProcess;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const readyLine = (line: string) => (line.startsWith('READY ') ? line.slice(6).trim() : undefined);

/**
 * Starts `cmd args` and resolves with its URL once a line of its output says it is ready: by
 * default `READY <url>`; `ready` reads another (the app's JSON "listening" line, say). 30 s at most.
 */
export function startProcess(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  ready: ((line: string) => string | undefined) | { health: string } = readyLine,
): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${cmd} ${args.join(' ')} did not start:\n${out.slice(-2000)}`)),
      30_000,
    );
    const stop = () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }).finally(() => children.delete(child));
    if (typeof ready === 'object') {
      // Ready when `health` answers 200 (a server that logs nothing at its log level).
      const poll = setInterval(() => {
        fetch(`${ready.health}/healthz`).then(
          (r) => {
            if (!r.ok) return;
            clearInterval(poll);
            clearTimeout(timer);
            resolve({ child, url: ready.health, pid: child.pid!, stop });
          },
          () => undefined,
        );
      }, 20);
      child.once('exit', () => clearInterval(poll));
    }
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (typeof ready === 'object') return;
      const url = out
        .split('\n')
        .map(ready)
        .find((u) => u !== undefined);
      if (url !== undefined) {
        clearTimeout(timer);
        resolve({ child, url, pid: child.pid!, stop });
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')} exited (${code}):\n${out.slice(-2000)}`));
    });
  });
}

/** The process's user + system CPU time so far, in ms (from /proc/<pid>/stat, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Resident memory of the process, in MB (from /proc/<pid>/status). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** The machine, as the reports name it: `2 × Intel(R) Xeon(R) Processor`. */
export const cpuDescription = (): string => `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}`;

/** The 1-minute load average, recorded before each round. */
export const loadAverage = () => Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** autocannon in its own process: `connections` in flight for `seconds` against `url`, with these headers. */
export async function autocannon(
  url: string,
  opts: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<LoadResult> {
  const args = ['-j', '-c', String(opts.connections), '-d', String(opts.seconds)];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(url);
  const { stdout } = await promisify(execFile)(AUTOCANNON, args, { cwd: ROOT, maxBuffer: 16 << 20 });
  const r = JSON.parse(stdout) as {
    requests: { total: number; average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    duration: number;
  };
  return {
    requests: r.requests.total,
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
export const median = (xs: number[]): number => pct(xs, 50);
export const r2 = (x: number): number => Math.round(x * 100) / 100;

/** A minimal cookie jar for following a login through redirects with fetch. */
export class Jar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1);
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** Runs a benchmark's `main`, exiting 0 when it is done and 1 (with the stack) when it fails. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}

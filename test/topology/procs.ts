/**
 * The topology run's processes: each a child in its own process group with its output logged to
 * a file, every one of them killed when the run exits (pass, fail or a signal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TMP, say } from './common.js';

/** Every process the run started, in order. */
export const procs: Proc[] = [];

/**
 * A child in its own process group (so nginx's workers and any grandchild die with it), its output
 * kept and logged to a file. With `direct`, the file itself is its stdout and stderr (nginx opens
 * /dev/stdout for its access log, which a socket cannot be reopened as), and `out` reads the file.
 */
export class Proc {
  child?: ChildProcess;
  private kept = '';
  /** Where each generation's output begins in `out`. */
  private readonly starts: number[] = [];
  /** How many times it was started: each start is a new generation (metrics start from 0 again). */
  gen = 0;
  private readonly file: string;

  constructor(
    readonly name: string,
    private readonly cmd: string,
    private readonly args: string[],
    private readonly opts: { cwd: string; env: NodeJS.ProcessEnv; direct?: boolean },
  ) {
    this.file = path.join(TMP, 'logs', `${name}.log`);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    procs.push(this);
  }

  get out(): string {
    return this.opts.direct ? (fs.existsSync(this.file) ? fs.readFileSync(this.file, 'utf8') : '') : this.kept;
  }

  /** The output of generation `gen` (1 = the first start). */
  outOf(gen: number): string {
    return this.kept.slice(this.starts[gen - 1] ?? 0, this.starts[gen] ?? this.kept.length);
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.gen++;
    this.starts.push(this.kept.length);
    if (this.opts.direct) {
      const fd = fs.openSync(this.file, 'a');
      this.child = spawn(this.cmd, this.args, {
        cwd: this.opts.cwd,
        env: this.opts.env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      fs.closeSync(fd);
      return;
    }
    const child = spawn(this.cmd, this.args, {
      cwd: this.opts.cwd,
      env: this.opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const sink = fs.createWriteStream(this.file, { flags: 'a' });
    const onData = (d: Buffer) => {
      if (!sink.writableEnded) sink.write(d);
      this.kept += d.toString('utf8');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => onData(Buffer.from(`spawn error: ${err.message}\n`)));
    // 'close', not 'exit': a process's last output can still be in its pipes when it has exited.
    child.once('close', () => sink.end());
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child!.kill(sig);
  }

  /** The exit code (or signal name) once the process is gone; rejects after `ms`. */
  waitExit(ms: number): Promise<number | string> {
    const c = this.child;
    if (!c) return Promise.resolve('never started');
    if (!this.running) return Promise.resolve(c.exitCode ?? c.signalCode ?? 'gone');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${ms} ms`)), ms);
      c.once('exit', (code, sig) => {
        clearTimeout(timer);
        resolve(code ?? sig ?? 'gone');
      });
    });
  }

  /** SIGKILL to the whole group. */
  kill(): void {
    if (this.child?.pid && this.running) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  tail(n = 30): string {
    const text = fs.existsSync(this.file) ? fs.readFileSync(this.file, 'utf8') : '';
    return text.split('\n').slice(-n).join('\n');
  }
}

export function killAll(): void {
  for (const p of procs) p.kill();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    say(`${sig}: stopping everything`);
    killAll();
    process.exit(1);
  });
}

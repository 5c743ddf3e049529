/**
 * `xt-connect keys rotate` at scale (issue 26 §3): N stored connections, on SQLite and on Redis (a
 * private redis-server), sealed again under a new TOKEN_ENCRYPTION_KEYS key by the built CLI
 * (`node dist/cli.js keys rotate`) in its own process. Baseline from the same run: `connections
 * list --json` over the same records, a read-only walk of every page (what the rotation's own walk
 * costs without the rewrites). Rounds are interleaved: list, rotate (every record under the
 * previous key: all resealed), rotate again (all current: what a resumed run costs per record).
 * Then a run killed (SIGKILL) at about half and run again: how much the second run rewrote.
 *
 * Seeding (keeper/seed.ts, the app's own Connections.connect) is not measured.
 *
 *   npm run build && npm run bench:keys   (writes bench/results/keys-rotate.md and .json)
 *   SCALE=0.1 npm run bench:keys          (a tenth of every size)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { tempDir } from '../test/helpers/harness.js';
import { type RedisServer, startRedis } from '../test/helpers/redis.js';
import { seedConnections } from './keeper/seed.js';
import { ROOT, cpuDescription, loadAverage, median, r2, runMain } from './lib.js';

const SCALE = Number(process.env.SCALE ?? 1);
const TOTAL = Math.round(20_000 * SCALE);
const ROUNDS = 3;
const KEYS = Array.from({ length: ROUNDS + 3 }, () => randomBytes(32).toString('base64'));

interface Run {
  wallMs: number;
  maxRssMb: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI in its own process; `killAtLine`: SIGKILL once stderr has shown that many progress lines. */
function cli(env: Record<string, string>, args: string[], killAtLine?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const p = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, path.join(ROOT, 'dist/cli.js'), ...args], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let [stdout, stderr] = ['', ''];
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => {
      stderr += d;
      if (killAtLine !== undefined && (stderr.match(/^keys rotate: /gm) ?? []).length >= killAtLine)
        spawn('pkill', ['-KILL', '-P', String(p.pid)]);
    });
    p.once('error', reject);
    p.once('exit', (code) => {
      const rss = /MAXRSS (\d+)/.exec(stderr);
      resolve({
        wallMs: performance.now() - started,
        maxRssMb: rss ? Number(rss[1]) / 1024 : NaN,
        code,
        stdout,
        stderr,
      });
    });
  });
}

function envFor(place: Record<string, string>, keys: string[]): Record<string, string> {
  return {
    NODE_ENV: 'production',
    SESSION_SECRET: 'bench-keys-session-secret-0123456789abcdef',
    SESSION_STORE: place.REDIS_URL ? 'redis' : 'sqlite',
    ...place,
    LOG_LEVEL: 'silent',
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: 'bench-keys-client-secret',
    XT_AUTHORIZE_URL: 'http://127.0.0.1:9/{lang}/accounts/oauth2',
    XT_TOKEN_URL: 'http://127.0.0.1:9/public/uaa/oauth2/token',
    XT_API_URL: 'http://127.0.0.1:9',
    TOKEN_ENCRYPTION_KEYS: keys.join(','),
  };
}

const counts = (stdout: string) => /read (\d+) records?: (\d+) resealed/.exec(stdout)?.slice(1).map(Number) ?? [];

interface StoreResult {
  store: string;
  list: number[];
  rotate: number[];
  again: number[];
  rss: number[];
  resealed: number[];
  killed: { firstResealed: number; secondResealed: number; secondMs: number };
}

async function runStore(store: 'sqlite' | 'redis', redis?: RedisServer): Promise<StoreResult> {
  const place: Record<string, string> = redis ? { REDIS_URL: redis.url } : { DATA_DIR: tempDir('xtc-bench-keys-') };
  const res: StoreResult = {
    store,
    list: [],
    rotate: [],
    again: [],
    rss: [],
    resealed: [],
    killed: {} as StoreResult['killed'],
  };
  try {
    await seedConnections(loadConfig(envFor(place, [KEYS[0]!])), TOTAL, 0, `k-${store}`);
    for (let r = 0; r < ROUNDS; r++) {
      const env = envFor(place, [KEYS[r + 1]!, KEYS[r]!]);
      res.list.push((await cli(env, ['connections', 'list', '--json'])).wallMs);
      const rot = await cli(env, ['keys', 'rotate']);
      if (rot.code !== 0) throw new Error(`keys rotate exited ${rot.code}: ${rot.stdout}`);
      res.rotate.push(rot.wallMs);
      res.rss.push(rot.maxRssMb);
      res.resealed.push(counts(rot.stdout)[1] ?? NaN);
      res.again.push((await cli(env, ['keys', 'rotate'])).wallMs);
      console.log(
        `bench: ${store} round ${r + 1}: list ${r2(res.list[r]!)} ms, rotate ${r2(rot.wallMs)} ms, again ${r2(res.again[r]!)} ms`,
      );
    }
    const env = envFor(place, [KEYS[ROUNDS + 1]!, KEYS[ROUNDS]!]);
    const killed = await cli(env, ['keys', 'rotate'], 5); // killed after its 50% line
    const shown = [...killed.stderr.matchAll(/; (\d+) resealed/g)].map((m) => Number(m[1]));
    const second = await cli(env, ['keys', 'rotate']);
    res.killed = {
      firstResealed: shown[shown.length - 1] ?? NaN,
      secondResealed: counts(second.stdout)[1] ?? NaN,
      secondMs: second.wallMs,
    };
    return res;
  } finally {
    if (place.DATA_DIR) fs.rmSync(place.DATA_DIR, { recursive: true, force: true });
  }
}

function report(results: StoreResult[], load: number[]): void {
  const rate = (ms: number) => Math.round((TOTAL * 1000) / ms).toLocaleString('en-US');
  const lines = [
    '# keys rotate',
    '',
    `\`npm run bench:keys\` on ${new Date().toISOString().slice(0, 10)}: ${TOTAL.toLocaleString('en-US')} stored XT.COM connections (JWT-sized tokens), the built CLI (\`node dist/cli.js\`) in its own process, ${ROUNDS} interleaved rounds, medians. ${cpuDescription()}, load average ${load.map((l) => l.toFixed(1)).join(' → ')}.`,
    '',
    '| store | `connections list` (baseline: a read-only walk) | `keys rotate`, all resealed | rotate ÷ list | `keys rotate` again, all current | CLI max RSS |',
    '| --- | --- | --- | --- | --- | --- |',
    ...results.map((s) => {
      const [l, r, a] = [median(s.list), median(s.rotate), median(s.again)];
      return `| ${s.store} | ${(l / 1000).toFixed(1)} s | ${(r / 1000).toFixed(1)} s (${rate(r)} records/s) | ${r2(r / l)}× | ${(a / 1000).toFixed(1)} s (${rate(a)} records/s) | ${Math.round(Math.max(...s.rss))} MB |`;
    }),
    '',
    'Every rotation resealed every record: ' +
      results.map((s) => `${s.store} ${s.resealed.join(', ')}`).join('; ') +
      '.',
    '',
    'Killed with SIGKILL after its 50% line, then run again:',
    '',
    ...results.map(
      (s) =>
        `- ${s.store}: the first run's last line said ${s.killed.firstResealed.toLocaleString('en-US')} resealed (a few more may have landed before the kill); the second resealed ${s.killed.secondResealed.toLocaleString('en-US')} in ${(s.killed.secondMs / 1000).toFixed(1)} s (together ${(s.killed.firstResealed + s.killed.secondResealed).toLocaleString('en-US')} of ${TOTAL.toLocaleString('en-US')}).`,
    ),
    '',
  ];
  fs.writeFileSync(path.join(ROOT, 'bench/results/keys-rotate.md'), lines.join('\n'));
  fs.writeFileSync(
    path.join(ROOT, 'bench/results/keys-rotate.json'),
    `${JSON.stringify({ total: TOTAL, results }, null, 2)}\n`,
  );
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const load = [loadAverage()];
  const results = [await runStore('sqlite')];
  const redis = await startRedis();
  try {
    results.push(await runStore('redis', redis));
  } finally {
    await redis.stop();
  }
  load.push(loadAverage());
  report(results, load);
}

runMain(main);

/**
 * Cold start: from spawn to the first 200 on /healthz, for the app (built, `node dist/server.js`,
 * SQLite, XT.COM configured, production mode) and the baselines, interleaved, ROUNDS times each.
 *
 *   npm run bench:startup      (writes bench/results/startup.md and .json)
 *   ROUNDS=1 SMOKE=1 npx tsx bench/startup.ts   (what .ci/run does, after the build)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { ROOT, cpuDescription, median, pct, r2, runMain } from './lib.js';
import { serverEntry } from './apps.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const OLD = process.env.OLD ? path.resolve(process.env.OLD) : undefined;
/** .ci/run: every server starts and answers /healthz; nothing is written, no timing asserted. */
const SMOKE = process.env.SMOKE === '1';

interface Server {
  name: string;
  args: (port: number) => string[];
  env?: (port: number) => NodeJS.ProcessEnv;
}

const appEnv = (port: number): NodeJS.ProcessEnv => ({
  NODE_ENV: 'production',
  PORT: String(port),
  PUBLIC_URL: `http://127.0.0.1:${port}`,
  SESSION_SECRET: randomBytes(32).toString('hex'),
  DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-startup-')),
  LOG_LEVEL: 'warn',
  XT_CLIENT_ID: 'bench-client',
  XT_CLIENT_SECRET: 'bench-secret-0123456789',
  XT_AUTHORIZE_URL: 'http://127.0.0.1:9/{lang}/accounts/oauth2',
  XT_TOKEN_URL: 'http://127.0.0.1:9/public/uaa/oauth2/token',
  XT_API_URL: 'http://127.0.0.1:9',
});

/** THE baseline since issue 28: the design card's minimal app (Express 5, helmet(), express-session on SQLite). */
const MINIMAL = 'baseline: minimal app (Express + helmet() + express-session, SQLite)';
/** Issue 28's goal: the app's cold start at most this many times the minimal app's. */
const GOAL = 1.3;

const SERVERS: Server[] = [
  { name: 'bare node:http', args: (p) => ['bench/servers/bare-http.mjs', String(p)] },
  { name: 'Express alone', args: (p) => ['bench/servers/express-bare.mjs', String(p)] },
  {
    name: MINIMAL,
    args: (p) => ['bench/servers/minimal-app.mjs', String(p), fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-startup-m-'))],
  },
  {
    name: 'old baseline: Express + express-session (SQLite)',
    args: (p) => [
      'bench/servers/express-session-sqlite.mjs',
      String(p),
      fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-startup-b-')),
    ],
  },
  {
    name: 'express-openid-connect',
    args: (p) => [
      'bench/servers/express-openid-connect.mjs',
      String(p),
      'http://127.0.0.1:9',
      'client',
      'client-secret-0123456789abcdef0123',
    ],
  },
  { name: 'xt-connect', args: () => [serverEntry(ROOT)], env: appEnv },
  ...(OLD ? [{ name: 'xt-connect (OLD)', args: () => [serverEntry(OLD)], env: appEnv }] : []),
];

/** Spawn → the first 200 on /healthz, in ms (polled every 2 ms); the process is then killed. */
async function coldStart(s: Server): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, s.args(port), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...s.env?.(port) },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${s.name} exited with ${child.exitCode}`);
      if (performance.now() - t0 > 20_000) throw new Error(`${s.name} did not answer within 20 s`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const times = new Map<string, number[]>(SERVERS.map((s) => [s.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < SERVERS.length; i++) {
      const s = SERVERS[(i + round) % SERVERS.length]!;
      times.get(s.name)!.push(await coldStart(s));
    }
  }
  if (SMOKE) {
    process.stdout.write(`bench:startup smoke: ${SERVERS.length} servers started and answered /healthz\n`);
    return;
  }
  const base = median(times.get(MINIMAL)!);
  const rows = SERVERS.map((s) => {
    const t = times.get(s.name)!;
    return { name: s.name, p50: Math.round(median(t)), p90: Math.round(pct(t, 90)), vsBaseline: r2(median(t) / base) };
  });
  const md = [
    '# Cold start: spawn to the first 200 on /healthz',
    '',
    `${new Date().toISOString()}, Node ${process.version}, ${cpuDescription()}. ${ROUNDS} starts of each server, interleaved (order rotated each round).`,
    '',
    '| server | p50 | p90 | to the minimal app |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${r.p50} ms | ${r.p90} ms | ${r.vsBaseline}× |`),
    '',
    goalLine(rows.find((r) => r.name === 'xt-connect')!.vsBaseline),
    '',
    'Reproduce: `npm run bench:startup` (OLD=<a built worktree of another commit> adds it).',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(ROOT, 'bench/results/startup.md'), md);
  fs.writeFileSync(
    path.join(ROOT, 'bench/results/startup.json'),
    JSON.stringify({ rows, times: Object.fromEntries(times) }, null, 2),
  );
  process.stdout.write(md);
}

/** Issue 28's goal against this run: the ratio of the p50s, app ÷ minimal app. */
function goalLine(ratio: number): string {
  const verdict = ratio <= GOAL ? 'met' : `**missed** by ${r2(ratio - GOAL)}×`;
  return `Goal (issue 28): cold start to the first 200 ≤ ${GOAL}× the minimal app's. xt-connect ÷ minimal app (p50 over p50): **${ratio}×**, ${verdict}.`;
}

runMain(main);

/**
 * The keeper at scale (issue 25 §5): one pass over N stored connections of which D are due, on
 * SQLite and on Redis (a private redis-server). Does its cost follow D, not N?
 *
 *  - seeding (not measured): N subjects' connections through the app's own Connections.connect
 *    (keeper/seed.ts), the keeper's one-time backfill marked done;
 *  - the XT.COM stand-in's token endpoint in its own process (keeper/xt.ts), so each refresh is a
 *    real HTTP token call;
 *  - one pass in its own process (keeper/pass.ts): the context built as the server builds it,
 *    `keeper.pass()` once; its wall time, CPU time, RSS, and every store call counted by method.
 *
 * Cases: 10,000 and 100,000 connections with 1,000 due; 100,000 with 100 due (the operations
 * should follow D); and 100,000 / 1,000 with the default XT.COM budget (XT_API_IP_LIMIT 1000 a
 * minute, KEEPALIVE_SHARE 0.1: 100 refreshes, the rest deferred to later passes). The other cases
 * lift XT_API_IP_LIMIT to 100,000 (the keeper's share then 10,000 a minute) so one pass finishes.
 *
 *   npm run bench:keeper      (writes bench/results/keeper.md and keeper.json)
 *   SCALE=0.1 npm run bench:keeper   (a tenth of every size, for a quick look)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { tempDir } from '../test/helpers/harness.js';
import { type RedisServer, startRedis } from '../test/helpers/redis.js';
import { ROOT, cpuMs, runMain, startProcess } from './lib.js';
import { type Footprint, emptyBaseline, footprint, redisPid } from './keeper/footprint.js';
import { type CaseResult, writeReport } from './keeper/report.js';
import { seedConnections } from './keeper/seed.js';

const SCALE = Number(process.env.SCALE ?? 1);
const CLIENT_SECRET = 'bench-keeper-client-secret';
const CASES = [
  { total: 10_000, due: 1000, budget: 'lifted' },
  { total: 100_000, due: 1000, budget: 'lifted' },
  { total: 100_000, due: 100, budget: 'lifted' },
  { total: 100_000, due: 1000, budget: 'default' },
] as const;
type Case = (typeof CASES)[number];

/** The app's environment; `place` is DATA_DIR or REDIS_URL (and says which store). */
function envFor(c: Case, xtUrl: string, place: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'production',
    SESSION_SECRET: 'bench-keeper-session-secret-0123456789abcdef',
    SESSION_STORE: place.REDIS_URL ? 'redis' : 'sqlite',
    ...place,
    LOG_LEVEL: 'silent',
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: CLIENT_SECRET,
    XT_AUTHORIZE_URL: `${xtUrl}/{lang}/accounts/oauth2`,
    XT_TOKEN_URL: `${xtUrl}/public/uaa/oauth2/token`,
    XT_API_URL: xtUrl,
    ...(c.budget === 'lifted' ? { XT_API_IP_LIMIT: '100000' } : {}),
  };
}

/** One pass in its own process; its RESULT line. */
async function runPass(env: Record<string, string>): Promise<CaseResult['pass']> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'bench/keeper/pass.ts'],
    { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, maxBuffer: 16 << 20 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the pass printed no result:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as CaseResult['pass'];
}

async function runCase(store: 'sqlite' | 'redis', c: Case, tag: string, redis?: RedisServer): Promise<CaseResult> {
  const total = Math.round(c.total * SCALE);
  const due = Math.round(c.due * SCALE);
  const baseline = redis ? await emptyBaseline(redis.url) : 0;
  // Seeding needs no stand-in: the XT.COM URLs only have to be valid.
  const place: Record<string, string> = redis ? { REDIS_URL: redis.url } : { DATA_DIR: tempDir('xtc-bench-keeper-') };
  const env = envFor(c, 'http://127.0.0.1:9', place);
  const seedMs = await seedConnections(loadConfig(env), total, due, tag);
  let fp: Footprint | undefined;
  if (redis && c.budget === 'lifted' && c.total === 100_000 && c.due === 1000)
    fp = await footprint(redis.url, total, baseline);
  // node itself (not the tsx launcher), so the pid is the stand-in's for its CPU time.
  const xt = await startProcess(process.execPath, ['--import', 'tsx', 'bench/keeper/xt.ts', tag, String(due)], {
    XT_CLIENT_SECRET: CLIENT_SECRET,
  });
  try {
    const rPid = redis ? await redisPid(redis.url) : undefined;
    const [xtCpu, redisCpu] = [cpuMs(xt.pid), rPid ? cpuMs(rPid) : 0];
    const pass = await runPass(envFor(c, xt.url, place));
    const calls = (await (await fetch(`${xt.url}/calls`)).json()) as { refresh_token: number };
    console.log(
      `bench: ${store} ${total}/${due} (${c.budget} budget): ${pass.wallMs} ms, cpu ${pass.cpuMs} ms, refreshed ${pass.stats.refreshed}, ops ${Object.values(pass.ops).reduce((a, b) => a + b, 0)}`,
    );
    return {
      store,
      total,
      due,
      budget: c.budget,
      seedMs,
      pass,
      tokenCalls: calls.refresh_token,
      standInCpuMs: cpuMs(xt.pid) - xtCpu,
      redisCpuMs: rPid ? cpuMs(rPid) - redisCpu : undefined,
      footprint: fp,
    };
  } finally {
    await xt.stop();
    // 100,000 connections are some 700 MB of SQLite: not left behind.
    if (place.DATA_DIR) fs.rmSync(place.DATA_DIR, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results: CaseResult[] = [];
  for (const [i, c] of CASES.entries()) results.push(await runCase('sqlite', c, `s${i}`));
  const redis = await startRedis();
  try {
    for (const [i, c] of CASES.entries()) results.push(await runCase('redis', c, `r${i}`, redis));
  } finally {
    await redis.stop();
  }
  writeReport(results, SCALE);
}

runMain(main);

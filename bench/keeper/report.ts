/** bench/results/keeper.md and keeper.json, from the keeper benchmark's cases (bench/keeper.ts). */
import fs from 'node:fs';
import path from 'node:path';
import type { PassStats } from '../../src/session/connections/keeper.js';
import { ROOT, cpuDescription, r2 } from '../lib.js';
import type { Footprint } from './footprint.js';

export interface CaseResult {
  store: 'sqlite' | 'redis';
  total: number;
  due: number;
  budget: 'lifted' | 'default';
  seedMs: number;
  pass: {
    stats: PassStats;
    wallMs: number;
    cpuMs: number;
    ops: Record<string, number>;
    rssBeforeMb: number;
    rssAfterMb: number;
    rssAfterGcMb: number;
    heapBeforeMb: number;
    heapAfterMb: number;
    stillDue: number;
  };
  tokenCalls: number;
  standInCpuMs: number;
  redisCpuMs?: number;
  footprint?: Footprint;
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const n = (x: number) => x.toLocaleString('en-US');

function caseRow(r: CaseResult): string {
  const { pass } = r;
  const ops = sum(pass.ops);
  const worked = pass.stats.refreshed + pass.stats.warned;
  const deferred = r.due - worked;
  return `| ${r.store} | ${n(r.total)} | ${n(r.due)} | ${r.budget} | ${n(pass.wallMs)} ms | ${n(pass.cpuMs)} ms | ${n(ops)} | ${r2(ops / Math.max(worked, 1))} | ${pass.stats.refreshed} / ${pass.stats.warned} / ${deferred} | ${r.tokenCalls} | ${pass.rssBeforeMb} → ${pass.rssAfterMb} (${pass.rssAfterGcMb}) MB | ${r.redisCpuMs ?? '–'} | ${r.standInCpuMs} |`;
}

/** Operations by method, one column per case. */
function opsTable(results: CaseResult[]): string {
  const methods = [...new Set(results.flatMap((r) => Object.keys(r.pass.ops)))].sort();
  const head = results.map(
    (r) => `${r.store} ${n(r.total)}/${n(r.due)}${r.budget === 'default' ? ' (default budget)' : ''}`,
  );
  const rows = methods.map((m) => `| ${m} | ${results.map((r) => n(r.pass.ops[m] ?? 0)).join(' | ')} |`);
  return [`| operation | ${head.join(' | ')} |`, `| --- |${head.map(() => ' ---: |').join('')}`, ...rows].join('\n');
}

function footprintText(f: Footprint | undefined): string {
  if (!f) return '';
  const kinds = Object.keys(f.keysByKind).sort();
  return `
## Redis: what ${n(f.connections)} connections cost

After seeding ${n(f.connections)} connections (the 100,000 / 1,000 case, before its pass): ${n(f.keys)} keys, used_memory ${r2(f.usedMemoryBytes / 1048576)} MB, **${n(f.bytesPerConnection)} bytes per connection** above the empty server's. By kind of key (\`MEMORY USAGE … SAMPLES 0\`; every partition index key measured, one in 20 of the others, scaled up):

| key | keys | bytes per connection |
| --- | ---: | ---: |
${kinds.map((k) => `| ${k} | ${n(f.keysByKind[k] ?? 0)} | ${f.byKind[k] ?? '–'} |`).join('\n')}

\`conn\` is the sealed record (one key per connection); \`conns\` and \`connexp\` the 16 partitions' page and expiry indexes (one member per connection each); \`mark\` the keeper's and stores' marks. An XT.COM connection has no back-channel logout index key (\`idx:\`): XT.COM sends no logout tokens. The difference between the sum and the bytes per connection is Redis's own keyspace overhead (the key's dict entry, its expiry entry) and the allocator's.
`;
}

export function writeReport(results: CaseResult[], scale: number): void {
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'keeper.json'),
    `${JSON.stringify({ at: new Date().toISOString(), scale, results }, null, 2)}\n`,
  );
  const fp = results.find((r) => r.footprint)?.footprint;
  const md = `# Keeper: one pass at scale

${new Date().toISOString()}, Node ${process.version}, ${cpuDescription()}${scale !== 1 ? `, every size scaled by ${scale}` : ''}. Reproduce with \`npm run bench:keeper\`.

Each case: N subjects' XT.COM connections stored through the app's own \`Connections.connect\` (D of them with a refresh token expiring in 10 days, inside KEEPALIVE_WINDOW's 14; the rest in 30–180 days), the keeper's one-time backfill marked done (as in a deployment that ran it before: the backfill reads every record by design, and is not what is measured). Then **one pass** in a process of its own, built as the server builds it (\`src/context.ts\`: store, XT.COM guard, \`keeperSetup.ts\`), against the XT.COM stand-in's token endpoint in another process: every refresh is a real HTTP token call. Redis is a private \`redis-server\` on loopback (16 partitions); SQLite a file (one partition).

"lifted" budget: XT_API_IP_LIMIT=100000, so the keeper's share (KEEPALIVE_SHARE 0.1) is 10,000 calls a minute and one pass can refresh all 1,000. "default": XT_API_IP_LIMIT=1000, the keeper's share 100 a minute: the pass refreshes 100, the guard refuses the 101st slot (the next one frees more than XT_API_QUEUE_WAIT later), and the pass stops; the other 900 wait for later passes ("deferred").

| store | N | D | budget | pass wall | pass CPU | store ops | ops per connection worked | refreshed / warned / deferred | token calls | RSS before → after (after a GC) | redis-server CPU ms | stand-in CPU ms |
| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: |
${results.map(caseRow).join('\n')}

"store ops": every call the pass made to the auth store, the outbox and the guard's sliding windows (the Redis store's; with SQLite the guard keeps its windows in memory), counted through a proxy. Nothing is read per stored connection: N = 10,000 and 100,000 with the same D make exactly the same number of operations, and D = 100 about a tenth of D = 1,000. Per connection refreshed: a refresh lock taken and released, the record read, written back by compare-and-set (with its new place in the index), the partition lease renewed, and with Redis a guard slot (SQLite's guard windows are in memory); per pass a fixed few per partition (done mark, lease, a page of the index): 6 with SQLite's one partition, about 80 with Redis's 16. CPU is the pass process's (\`process.cpuUsage\`, user + system), RSS is taken after a GC before the pass, right after it, and after another GC (in brackets): V8 keeps the heap it grew to. The token calls include the stand-in's RS256 signing, which is its own CPU time, not the app's. After every lifted-budget pass, entries still due within the window: ${results
    .filter((r) => r.budget === 'lifted')
    .map((r) => r.pass.stillDue)
    .join(', ')} (0: every due connection was refreshed to a new 180-day token).

### Store operations by method

${opsTable(results)}
${footprintText(fp)}`;
  fs.writeFileSync(path.join(dir, 'keeper.md'), md);
  console.log('bench: wrote bench/results/keeper.md and keeper.json');
}

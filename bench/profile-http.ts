/**
 * Where GET /api/session's CPU goes: `node --cpu-prof` of the built app (SQLite, production mode, the
 * image's NODE_OPTIONS) and of the minimal app (bench/servers/minimal-app.mjs), one after the other,
 * each logged in and under `autocannon -c CONNECTIONS` for SECONDS in its own process. Prints each
 * profile's self time grouped by package (node_modules/<name>, the app's own code, Node's internals,
 * GC) and its top functions, as shares of the busy samples and as µs per loaded request (the whole
 * profile over the requests, start-up and login included; V8 samples on the wall clock, so on a busy
 * machine the µs are inflated alike for both: compare them, do not add them up to CPU time). The
 * .cpuprofile files stay in a temporary directory.
 *
 *   npm run build && npx tsx bench/profile-http.ts      (SECONDS=8 CONNECTIONS=32 by default)
 *   ROUTE=/account npx tsx bench/profile-http.ts        (the app's route to load; the minimal app's is always /api/session)
 */
import fs from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { type Proc, ROOT, autocannon, runMain, startProcess } from './lib.js';
import { benchAppEnv, benchClientSecret, connectXt, serverEntry, startXtStandInProcess } from './apps.js';

const SECONDS = Number(process.env.SECONDS ?? 8);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const ROUTE = process.env.ROUTE ?? '/api/session';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount: number;
}

const maps = new Map<string, SourceMap | undefined>();
/** The bundle's source map for `url` (dist/*.js.map), so a bundled frame is named by its original file. */
function sourceMap(url: string): SourceMap | undefined {
  if (!maps.has(url)) {
    const file = `${url.replace(/^file:\/\//, '')}.map`;
    maps.set(
      url,
      fs.existsSync(file) ? new SourceMap(JSON.parse(fs.readFileSync(file, 'utf8')) as SourceMapPayload) : undefined,
    );
  }
  return maps.get(url);
}

/** A frame's source: through the bundle's source map when there is one. */
function source(f: Node['callFrame']): { url: string; line: number } {
  const entry = (
    f.url.startsWith(`file://${ROOT}/dist/`) ? sourceMap(f.url)?.findEntry(f.lineNumber, f.columnNumber) : undefined
  ) as { originalSource?: string; originalLine: number } | undefined;
  return entry?.originalSource
    ? { url: entry.originalSource, line: entry.originalLine + 1 }
    : { url: f.url, line: f.lineNumber + 1 };
}

/** A frame's owner: a package under node_modules, the app's own code, Node itself, or the profiler's pseudo-frames. */
function owner(url: string, fn: string): string {
  if (fn === '(garbage collector)' || fn === '(idle)' || fn === '(program)') return fn;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:') || url === '') return 'node (incl. native: socket writes, crypto)';
  const src = /^(?:\.\.\/)+(src\/[^/]+)/.exec(url) ?? /\/wt-[^/]+\/(src\/[^/]+)/.exec(url);
  if (src) return `xt-connect ${src[1]}`;
  return url.replace(/^.*\/bench\//, 'bench/');
}

/** The profile's self time by owner and its top functions, as text (shares of the non-idle samples). */
function summarise(file: string, label: string, requests: number): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    nodes: Node[];
    startTime: number;
    endTime: number;
    samples: number[];
  };
  /** µs of CPU per request (the whole profile's, start-up and login included, over the loaded requests). */
  const usPerRequest = (hits: number) => Math.round((hits * (p.endTime - p.startTime)) / p.samples.length / requests);
  const busy = p.nodes.filter((n) => n.callFrame.functionName !== '(idle)');
  const total = busy.reduce((s, n) => s + n.hitCount, 0);
  const at = (n: Node) => source(n.callFrame);
  const by = (key: (n: Node) => string) => {
    const m = new Map<string, number>();
    for (const n of busy) m.set(key(n), (m.get(key(n)) ?? 0) + n.hitCount);
    return [...m].sort((a, b) => b[1] - a[1]);
  };
  const share = (x: number) => `${((100 * x) / total).toFixed(1)} % ${String(usPerRequest(x)).padStart(4)} µs/req`;
  const owners = by((n) => owner(at(n).url, n.callFrame.functionName)).slice(0, 16);
  const fns = by(
    (n) => `${n.callFrame.functionName || '(anonymous)'} ${owner(at(n).url, n.callFrame.functionName)}:${at(n).line}`,
  ).slice(0, 15);
  return [
    `## ${label} (${total} busy samples, ${usPerRequest(total)} µs of CPU per request)`,
    '',
    'by owner:',
    ...owners.map(([k, v]) => `  ${share(v).padStart(7)}  ${k}`),
    'top functions (self):',
    ...fns.map(([k, v]) => `  ${share(v).padStart(7)}  ${k}`),
    '',
  ].join('\n');
}

/** Loads `url` with `cookie`, stops the server (the profile is written at exit), and returns its summary. */
async function profile(server: Proc, dir: string, url: string, cookie: string, label: string): Promise<string> {
  const r = await autocannon(url, { connections: CONNECTIONS, seconds: SECONDS, headers: { cookie } });
  await server.stop();
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`${label}: no profile in ${dir}`);
  return `${summarise(path.join(dir, file), label, r.requests)}  (${Math.round(r.rps)} req/s, non-2xx ${r.non2xx})\n`;
}

async function main(): Promise<void> {
  const secret = benchClientSecret();
  const xt = await startXtStandInProcess(secret);
  const dirApp = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-prof-app-'));
  const dirMin = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-prof-min-'));
  // --cpu-prof is not allowed in NODE_OPTIONS: it goes on the command line, beside the image's NODE_OPTIONS.
  const port = await freePort();
  const app = await startProcess(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${dirApp}`, serverEntry(ROOT)],
    { ...benchAppEnv(port, xt.url, secret, 'prof'), SHUTDOWN_DRAIN: '0' },
    { health: `http://127.0.0.1:${port}` },
  );
  const { cookie } = await connectXt(app.url, 1);
  const out = [await profile(app, dirApp, `${app.url}${ROUTE}`, cookie, `xt-connect GET ${ROUTE}`)];
  const minimal = await startProcess(process.execPath, [
    `--cpu-prof`,
    `--cpu-prof-dir=${dirMin}`,
    'bench/servers/minimal-app.mjs',
    String(await freePort()),
    fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-prof-data-')),
  ]);
  const minCookie = (await fetch(`${minimal.url}/login`)).headers.get('set-cookie')!.split(';')[0]!;
  out.push(await profile(minimal, dirMin, `${minimal.url}/api/session`, minCookie, 'minimal app GET /api/session'));
  await xt.stop();
  process.stdout.write(`${out.join('\n')}\nprofiles: ${dirApp}, ${dirMin}\n`);
}

runMain(main);

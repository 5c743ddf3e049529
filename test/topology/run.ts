/**
 * `npm run topology`: docker-compose.yml's topology without a Docker engine, proven end to end.
 *
 *   nginx (the real deploy/nginx.conf, TLS with deploy/gen-cert.sh's certificate)
 *     → two replicas (`npm start`'s command: node scripts/start.mjs, built dist/)
 *     → one redis-server (append-only file on, so a restart keeps the data)
 *   and the stand-ins (scripts/standins.ts, access tokens of ACCESS_TTL_S seconds)
 * all on 127.0.0.1, on free ports. Then:
 *  1. Chromium through nginx: connect XT.COM (served by one replica), stop that replica, and the
 *     refresh and the disconnect are served by the other (told apart by each replica's own log);
 *  2. TRUST_PROXY: the audit log's `ip` is the client's address, not nginx's nor a forged
 *     X-Forwarded-For, and the /auth rate limit counts per client;
 *  3. load (test/topology/load.ts, its own process): SESSIONS people connected, SECONDS of mixed
 *     traffic; meanwhile one replica gets SIGTERM and is started again, and Redis is restarted.
 * Figures go to bench/results/topology.md; the run exits 1 when an assertion fails. Every wait is
 * bounded, and every process started here is killed on the way out, pass or fail.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/browser.js';
import { IMAGE_NODE_OPTIONS } from '../helpers/image.js';
import { freePort } from '../helpers/ports.js';
import type { Kind, LoadJob, LoadResult, Rec } from './load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECONDS = Number(process.env.TOPOLOGY_SECONDS ?? 60);
const SESSIONS = Number(process.env.TOPOLOGY_SESSIONS ?? 200);
const RATE = Number(process.env.TOPOLOGY_RATE ?? 200);
const ACCESS_TTL_S = 15;
const REFRESH_SKEW_MS = 2000;
const AUTH_RATE_LIMIT = 30;
/** When, into the load, one replica gets SIGTERM, and Redis is restarted (and how long it stays down). */
const REPLICA_RESTART_AT = 0.2;
const REDIS_RESTART_AT = 0.58;
const REDIS_DOWN_MS = 2000;
/** After Redis is back and both replicas are ready again, 503s are still counted as the restart's for this long. */
const REDIS_GRACE_MS = 3000;
const WATCHDOG_MS = 12 * 60_000;
/** Refreshes a stopped replica may finish after its last scrape (see the refresh assertions). */
const MAX_UNSCRAPED = 5;

const runStarted = Date.now();
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'xtc-topology-'));
const say = (msg: string) => console.log(`topology: ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
  say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

// ---------- processes ----------

const procs: Proc[] = [];

/**
 * A child in its own process group (so nginx's workers and any grandchild die with it), its output
 * kept and logged to a file. With `direct`, the file itself is its stdout and stderr (nginx opens
 * /dev/stdout for its access log, which a socket cannot be reopened as), and `out` reads the file.
 */
class Proc {
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

let browserToClose: { close(): Promise<void> } | undefined;
function killAll(): void {
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

async function waitFor(what: string, ms: number, ok: () => Promise<boolean> | boolean, every = 100): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await Promise.resolve(ok()).catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

// ---------- HTTP ----------

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let caCert: Buffer | undefined;

/** One request (https through nginx with our CA, or plain http to a replica); rejects on a socket error or after 10 s. */
function fetchRaw(url: string, opts: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      { agent: false, ca: caCert, localAddress: opts.localAddress, headers: opts.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

const headerOf = (r: Reply, name: string): string => {
  const v = r.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
};

// ---------- metrics ----------

type Sample = { name: string; labels: Record<string, string>; value: number };

function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

const metricValue = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s
    .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    .reduce((n, x) => n + x.value, 0);

interface Snapshot {
  at: number;
  refreshes: Record<string, number>;
  rss: number;
  cpu: number;
}

// ---------- the topology ----------

interface Replica {
  name: 'A' | 'B';
  proc: Proc;
  port: number;
  metricsPort: number;
  /** The last scrape of each generation (its counters start from 0 when it starts again). */
  lastByGen: Map<number, Snapshot>;
  maxRss: number;
  /** CPU seconds at the start of the load, per generation. */
  cpuAtLoadStart: Map<number, number>;
}

async function scrape(r: Replica): Promise<Snapshot | undefined> {
  if (!r.proc.running) return undefined;
  const gen = r.proc.gen;
  try {
    const res = await fetchRaw(`http://127.0.0.1:${r.metricsPort}/metrics`);
    if (res.status !== 200) return undefined;
    const s = parseProm(res.body);
    const refreshes: Record<string, number> = {};
    for (const outcome of ['ok', 'rejected', 'transient', 'skipped_by_lock'])
      refreshes[outcome] = metricValue(s, 'xtc_refreshes_total', { provider: 'xt', outcome });
    const snap = {
      at: Date.now(),
      refreshes,
      rss: metricValue(s, 'process_resident_memory_bytes'),
      cpu: metricValue(s, 'process_cpu_seconds_total'),
    };
    if (r.proc.gen === gen) r.lastByGen.set(gen, snap);
    r.maxRss = Math.max(r.maxRss, snap.rss);
    return snap;
  } catch {
    return undefined;
  }
}

/** Which replica logged request `reqId` (the X-Request-Id the app set on its answer). */
async function servedBy(replicas: Replica[], reqId: string): Promise<Replica> {
  if (!reqId) throw new Error('the answer carried no X-Request-Id');
  let found: Replica[] = [];
  await waitFor(`request ${reqId} in a replica's log`, 5000, () => {
    found = replicas.filter((r) => r.proc.out.includes(reqId));
    return found.length > 0;
  });
  if (found.length !== 1) throw new Error(`request ${reqId} is in ${found.length} replicas' logs`);
  return found[0]!;
}

/** The JSON log lines in `text` (a replica's output, every generation) that match `pred`. */
function logLines(text: string, pred: (o: Record<string, unknown>) => boolean): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (pred(o)) out.push(o);
    } catch {
      /* not a log line */
    }
  }
  return out;
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    say(`the run took longer than ${WATCHDOG_MS / 60_000} minutes: giving up`);
    killAll();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  say(`work directory ${TMP}`);

  const versions = {
    node: process.version,
    nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8' })
      .stderr.trim()
      .replace(/^nginx version: /, ''),
    redis: (/v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?').trim(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? '?',
  };

  // --- ports, certificate, nginx's directory ---
  const ports = new Set<number>();
  while (ports.size < 9) ports.add(await freePort());
  const [redisPort, xtPort, oidcPort, controlPort, portA, portB, metricsA, metricsB, nginxPort] = [...ports] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const base = `https://127.0.0.1:${nginxPort}`;
  const nginxDir = path.join(TMP, 'nginx');
  fs.mkdirSync(nginxDir);
  execFileSync('bash', [path.join(ROOT, 'deploy/gen-cert.sh'), path.join(nginxDir, 'certs')], { stdio: 'inherit' });
  caCert = fs.readFileSync(path.join(nginxDir, 'certs/tls.crt'));

  // --- Redis, with its append-only file in its own directory so a restart keeps every key ---
  const redisDir = path.join(TMP, 'redis');
  fs.mkdirSync(redisDir);
  const redis = new Proc(
    'redis',
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      redisDir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
    ],
    { cwd: redisDir, env: { PATH: process.env.PATH } },
  );
  const redisUp = async () => {
    try {
      return (
        execFileSync('redis-cli', ['-p', String(redisPort), 'ping'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim() === 'PONG'
      );
    } catch {
      return false;
    }
  };
  redis.start();
  await waitFor('redis-server', 10_000, redisUp);

  // --- the stand-ins ---
  const standins = new Proc('standins', process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/standins.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      STANDINS_HOST: '127.0.0.1',
      XT_STANDIN_PORT: String(xtPort),
      OIDC_STANDIN_PORT: String(oidcPort),
      STANDINS_CONTROL_PORT: String(controlPort),
      PUBLIC_URL: base,
      STANDIN_ACCESS_TTL: String(ACCESS_TTL_S),
      STANDIN_XT_IP_LIMIT: '1000000', // the replicas' calls all come from 127.0.0.1; XT.COM's 1000/min per IP is not what is measured
    },
  });
  standins.start();
  await waitFor('the stand-ins', 30_000, () => standins.out.includes('standins ready'));
  type Stats = {
    xt: {
      calls: Record<string, number>;
      refreshTokens: { presented: number; distinct: number; reused: number; byUser: Record<string, number> };
    };
  };
  const stats = async () => JSON.parse((await fetchRaw(`http://127.0.0.1:${controlPort}/stats`)).body) as Stats;

  // --- two replicas ---
  const xt = `http://127.0.0.1:${xtPort}`;
  const oidc = `http://127.0.0.1:${oidcPort}`;
  const sessionSecret = randomBytes(32).toString('base64');
  const replicas: Replica[] = (
    [
      ['A', portA, metricsA],
      ['B', portB, metricsB],
    ] as const
  ).map(([name, port, metricsPort]) => {
    const dir = path.join(TMP, `app-${name}`);
    fs.mkdirSync(dir);
    // npm start's command, run directly (as the image runs node as PID 1), so SIGTERM reaches the
    // server itself; from an empty directory, so no .env of the developer's is read.
    const proc = new Proc(`app-${name}`, process.execPath, [path.join(ROOT, 'scripts/start.mjs')], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        NODE_OPTIONS: IMAGE_NODE_OPTIONS, // as the image runs it (the Dockerfile's ENV)
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        METRICS_HOST: '127.0.0.1',
        PUBLIC_URL: base,
        TRUST_PROXY: '1',
        SESSION_STORE: 'redis',
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        SESSION_SECRET: sessionSecret,
        SHUTDOWN_DRAIN: '2s',
        LOG_LEVEL: 'info',
        AUTH_RATE_LIMIT: String(AUTH_RATE_LIMIT),
        REFRESH_SKEW: `${REFRESH_SKEW_MS}ms`,
        XT_API_IP_LIMIT: '100000',
        XT_CLIENT_ID: 'demo-client',
        XT_CLIENT_SECRET: 'demo-secret',
        XT_AUTHORIZE_URL: `${xt}/{lang}/accounts/oauth2`,
        XT_TOKEN_URL: `${xt}/public/uaa/oauth2/token`,
        XT_API_URL: xt,
        OIDC_ISSUER: oidc,
        OIDC_CLIENT_ID: 'ciam-web-app',
        OIDC_CLIENT_SECRET: 'ciam-web-app-secret-0123456789abcdef',
        OIDC_LABEL: 'Tencent Cloud CIAM (stand-in)',
        OIDC_LOGOUT_URL: `${oidc}/logout`,
        LINK_SECRET: 'topology-link-secret-0123456789abcdef',
      },
    });
    return { name, proc, port, metricsPort, lastByGen: new Map(), maxRss: 0, cpuAtLoadStart: new Map() };
  });
  const ready = async (r: Replica) => (await fetchRaw(`http://127.0.0.1:${r.port}/readyz`)).status === 200;
  const startReplica = async (r: Replica) => {
    r.proc.start();
    await waitFor(`replica ${r.name} to be ready`, 30_000, () => ready(r));
  };
  /** SIGTERM, scraping its metrics every 25 ms until the listener is gone (its last counts), then its exit. */
  const stopReplica = async (r: Replica) => {
    r.proc.signal('SIGTERM');
    const scraping = (async () => {
      while (r.proc.running && (await scrape(r)) !== undefined) await sleep(25);
    })();
    const code = await r.proc.waitExit(40_000);
    await scraping;
    return code;
  };
  await Promise.all(replicas.map(startReplica));

  // --- nginx: deploy/nginx.conf itself (a symlink), with this run's upstreams and listener ---
  fs.symlinkSync(path.join(ROOT, 'deploy/nginx.conf'), path.join(nginxDir, 'nginx.conf'));
  fs.writeFileSync(
    path.join(nginxDir, 'nginx.upstreams.conf'),
    `# written by test/topology/run.ts\nupstream xtc_replicas {\n${replicas.map((r) => `  server 127.0.0.1:${r.port} max_fails=0;\n`).join('')}}\n`,
  );
  fs.writeFileSync(
    path.join(nginxDir, 'nginx.listen.conf'),
    `# written by test/topology/run.ts\nlisten 127.0.0.1:${nginxPort} ssl;\n`,
  );
  const nginxArgs = [
    '-p',
    `${nginxDir}/`,
    '-c',
    path.join(nginxDir, 'nginx.conf'),
    '-e',
    'stderr',
    '-g',
    `daemon off; pid ${path.join(nginxDir, 'nginx.pid')};`,
  ];
  execFileSync('nginx', [...nginxArgs, '-t', '-q'], { stdio: 'inherit' });
  const nginx = new Proc('nginx', 'nginx', nginxArgs, { cwd: nginxDir, env: { PATH: process.env.PATH }, direct: true });
  nginx.start();
  await waitFor('nginx', 10_000, async () => (await fetchRaw(`${base}/healthz`)).status === 200);
  say(
    `up: nginx ${base} → replicas :${portA} :${portB} (metrics :${metricsA} :${metricsB}), redis :${redisPort}, stand-ins :${xtPort} :${oidcPort}`,
  );

  const scraper = setInterval(() => void Promise.all(replicas.map(scrape)), 1000);

  // ---------- 0. the bundle's chunks: code loaded on first use (the OIDC dialect, jose for links, the Redis stores) ----------
  for (const r of replicas) {
    const direct = `http://127.0.0.1:${r.port}`;
    const oidcLogin = await fetchRaw(`${direct}/auth/oidc/login`, { localAddress: '127.0.0.5' });
    check(
      oidcLogin.status === 302 && headerOf(oidcLogin, 'location').startsWith(`${oidc}/`),
      `replica ${r.name} (the bundle, Redis): an OIDC login goes to the stand-in (${oidcLogin.status})`,
    );
    const badLink = await fetchRaw(`${direct}/auth/xt/login?link=not-a-jwt`, { localAddress: '127.0.0.5' });
    check(
      badLink.status === 400 && /link/i.test(badLink.body),
      `replica ${r.name}: a malformed link token gets the link page (${badLink.status}), jose loaded`,
    );
  }

  // ---------- 1. Chromium: connect on one replica, refresh and disconnect on the other ----------
  const browserFacts: Record<string, string> = {};
  {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM} (scripts/test-deps.sh installs it)`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    browserToClose = browser;
    const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Connect XT.COM' }).click();
    await page.waitForURL(/\/en\/accounts\/oauth2/);
    const callback = page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/xt/callback');
    await page.getByRole('button', { name: 'Authorize' }).click();
    const callbackReqId = (await callback).headers()['x-request-id'] ?? '';
    await page.waitForURL(`${base}/account`);
    const uid = await page.locator('.uid').first().textContent();
    check(uid === '12345678', `Chromium: connected through nginx as the stand-in's user (${uid})`);
    const connectedOn = await servedBy(replicas, callbackReqId);
    const other = replicas.find((r) => r !== connectedOn)!;
    const sessionJson = async () =>
      (await (await context.request.get(`${base}/api/session`)).json()) as {
        connected: boolean;
        accessTokenExpiresAt: string | null;
      };
    const before = await sessionJson();
    const userRefreshes = async () => (await stats()).xt.refreshTokens.byUser['12345678'] ?? 0;
    const refreshesBefore = await userRefreshes();

    // The replica that made the connection goes away (SIGTERM, drained, exited).
    const code = await stopReplica(connectedOn);
    check(
      code === 0,
      `Chromium: replica ${connectedOn.name}, which served the callback, stopped on SIGTERM with exit code 0 (${code})`,
    );
    const otherLogFrom = other.proc.out.length;

    // Once the access token has expired, the account page is served (and refreshed) by the other. Not
    // earlier: the refresh margin is min(REFRESH_SKEW, 10 % of the token's life), and with a second-granular
    // `exp` that is a little under 1.5 s here, so "skew minus a bit" could land just before it (a flake seen in CI).
    const due = Date.parse(before.accessTokenExpiresAt ?? '') + 300;
    await sleep(Math.max(0, due - Date.now()));
    const account = await page.goto(`${base}/account`);
    const accountReqId = account?.headers()['x-request-id'] ?? '';
    const refreshedOn = await servedBy(replicas, accountReqId);
    await waitFor('the refresh at the stand-in', 5000, async () => (await userRefreshes()) > refreshesBefore);
    await sleep(500);
    const refreshes = (await userRefreshes()) - refreshesBefore;
    const refreshLines = logLines(other.proc.out.slice(otherLogFrom), (o) => o.msg === 'tokens refreshed').length;
    const after = await sessionJson();
    check(
      refreshedOn === other &&
        refreshes === 1 &&
        refreshLines >= 1 &&
        after.connected &&
        after.accessTokenExpiresAt !== before.accessTokenExpiresAt,
      `Chromium: the refresh was served by replica ${refreshedOn.name} (the other one): ${refreshes} refresh at the stand-in, new expiry ${after.accessTokenExpiresAt}`,
    );

    const logout = page.waitForResponse(
      (r) => new URL(r.url()).pathname === '/auth/xt/logout' && r.request().method() === 'POST',
    );
    await page.getByRole('button', { name: 'Disconnect' }).click();
    const logoutReqId = (await logout).headers()['x-request-id'] ?? '';
    await page.waitForURL(`${base}/`);
    const disconnectedOn = await servedBy(replicas, logoutReqId);
    const audit = logLines(
      other.proc.out,
      (o) => o.audit === true && o.event === 'disconnected' && o.reqId === logoutReqId,
    );
    const afterLogout = await sessionJson();
    check(
      disconnectedOn === other && audit.length === 1 && !afterLogout.connected,
      `Chromium: the disconnect was served by replica ${disconnectedOn.name} (audit "disconnected" in its log), and the session is no longer connected`,
    );
    check(errors.length === 0, `Chromium: no console errors (${errors.join('; ') || 'none'})`);
    Object.assign(browserFacts, {
      callback: `replica ${connectedOn.name} (request ${callbackReqId})`,
      refresh: `replica ${refreshedOn.name} (request ${accountReqId})`,
      disconnect: `replica ${disconnectedOn.name} (request ${logoutReqId})`,
    });
    await browser.close();
    browserToClose = undefined;
    await startReplica(connectedOn);
  }

  // ---------- 2. TRUST_PROXY: the client's address, per client ----------
  const trustFacts: Record<string, string> = {};
  {
    const findAudit = (reqId: string, event: string) =>
      replicas.flatMap((r) =>
        logLines(r.proc.out, (o) => o.audit === true && o.event === event && o.reqId === reqId),
      )[0] as { ip?: string } | undefined;
    const probe = await fetchRaw(`${base}/auth/xt/login`, {
      localAddress: '127.0.0.2',
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    const probeId = headerOf(probe, 'x-request-id');
    await servedBy(replicas, probeId);
    const started = findAudit(probeId, 'login_started');
    check(
      probe.status === 302 && started?.ip === '127.0.0.2',
      `TRUST_PROXY=1: a login from 127.0.0.2 that forged X-Forwarded-For: 203.0.113.7 is audited with ip ${started?.ip}`,
    );
    trustFacts.audit = `login from 127.0.0.2 with a forged X-Forwarded-For: 203.0.113.7 → audit ip ${started?.ip}`;

    // One client goes past AUTH_RATE_LIMIT (forging a new X-Forwarded-For each time, which must not help); another is not affected.
    const statuses: number[] = [];
    let lastId = '';
    for (let i = 1; i <= AUTH_RATE_LIMIT + 1; i++) {
      const r = await fetchRaw(`${base}/auth/xt/login`, {
        localAddress: '127.0.0.3',
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      });
      statuses.push(r.status);
      lastId = headerOf(r, 'x-request-id');
    }
    const neighbour = await fetchRaw(`${base}/auth/xt/login`, { localAddress: '127.0.0.4' });
    await servedBy(replicas, lastId);
    const limited = findAudit(lastId, 'rate_limited');
    const under = statuses.slice(0, AUTH_RATE_LIMIT);
    check(
      under.every((s) => s === 302) &&
        statuses[AUTH_RATE_LIMIT] === 429 &&
        limited?.ip === '127.0.0.3' &&
        neighbour.status === 302,
      `rate limit per client: 127.0.0.3 got ${AUTH_RATE_LIMIT} × 302 then ${statuses[AUTH_RATE_LIMIT]} (audit rate_limited, ip ${limited?.ip}); 127.0.0.4 right after got ${neighbour.status}`,
    );
    trustFacts.rateLimit = `127.0.0.3: ${AUTH_RATE_LIMIT} × 302, then ${statuses[AUTH_RATE_LIMIT]} (audit ip ${limited?.ip}); 127.0.0.4 at the same moment: ${neighbour.status}`;
  }

  // ---------- 3. load, with a replica restart and a Redis restart ----------
  const statsBeforeLoad = await stats();
  const job: LoadJob = {
    base,
    caFile: path.join(nginxDir, 'certs/tls.crt'),
    sessions: SESSIONS,
    seconds: SECONDS,
    rate: RATE,
    churnWorkers: 2,
    maxInFlight: 512,
    out: path.join(TMP, 'load-result.json'),
  };
  fs.writeFileSync(path.join(TMP, 'load-job.json'), JSON.stringify(job));
  const load = new Proc(
    'load',
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/topology/load.ts'), path.join(TMP, 'load-job.json')],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    },
  );
  load.start();
  say(`load: connecting ${SESSIONS} people through nginx…`);
  let loadStartedAt = 0;
  await waitFor('the load to start', 120_000, () => {
    const m = /"phase":"load","startedAt":(\d+)/.exec(load.out);
    if (m) loadStartedAt = Number(m[1]);
    if (!load.running && !m) throw new Error(`the load generator stopped:\n${load.tail()}`);
    return !!m;
  });
  say(`load: ${/"phase":"connected"[^\n]*/.exec(load.out)?.[0] ?? ''}; ${SECONDS} s of traffic at ${RATE} requests/s`);
  const loadavgAtStart = os.loadavg()[0]!;
  for (const r of replicas) {
    const snap = await scrape(r);
    if (snap) r.cpuAtLoadStart.set(r.proc.gen, snap.cpu);
  }

  const restarted = replicas[1]!;
  const replicaWindow = { name: restarted.name, sigterm: 0, exited: 0, ready: 0, code: '' as number | string };
  const redisWindow = { stop: 0, down: 0, up: 0, ready: 0 };
  const events = (async () => {
    await sleep(loadStartedAt + SECONDS * 1000 * REPLICA_RESTART_AT - Date.now());
    say(`load: SIGTERM to replica ${restarted.name}`);
    replicaWindow.sigterm = Date.now();
    replicaWindow.code = await stopReplica(restarted);
    replicaWindow.exited = Date.now();
    await startReplica(restarted);
    replicaWindow.ready = Date.now();
    restarted.cpuAtLoadStart.set(restarted.proc.gen, 0); // a new process: all its CPU time is the load's
    say(
      `load: replica ${restarted.name} exited (${replicaWindow.code}) after ${replicaWindow.exited - replicaWindow.sigterm} ms and is ready again`,
    );

    await sleep(loadStartedAt + SECONDS * 1000 * REDIS_RESTART_AT - Date.now());
    say('load: restarting Redis');
    redisWindow.stop = Date.now();
    redis.signal('SIGTERM');
    await redis.waitExit(15_000);
    redisWindow.down = Date.now();
    await sleep(REDIS_DOWN_MS);
    redis.start();
    await waitFor('redis-server again', 10_000, redisUp, 20);
    redisWindow.up = Date.now();
    await waitFor('both replicas ready after Redis', 20_000, async () =>
      (await Promise.all(replicas.map(ready))).every(Boolean),
    );
    redisWindow.ready = Date.now();
    say(
      `load: Redis was down ${redisWindow.up - redisWindow.stop} ms; both replicas ready ${redisWindow.ready - redisWindow.up} ms after it was back`,
    );
  })();
  await events;
  await load.waitExit((SECONDS + 180) * 1000);
  if (!fs.existsSync(job.out)) throw new Error(`the load generator wrote no result:\n${load.tail()}`);
  const result = JSON.parse(fs.readFileSync(job.out, 'utf8')) as LoadResult;
  const loadavgAtEnd = os.loadavg()[0]!;
  clearInterval(scraper);
  await Promise.all(replicas.map(scrape));
  const statsAfter = await stats();

  // ---------- figures ----------
  const recs = result.records;
  const overlaps = (r: Rec, from: number, to: number) => r.t <= to && r.t + r.ms >= from;
  const redisFrom = redisWindow.stop;
  const redisTo = redisWindow.ready + REDIS_GRACE_MS;
  const repFrom = replicaWindow.sigterm;
  const repTo = replicaWindow.ready + 1000;
  type Outcome = 'ok' | 'redis_503' | 'error' | '5xx' | '429' | '4xx' | 'wrong_session';
  const outcome = (r: Rec): Outcome => {
    if (r.s === 0) return 'error';
    if (r.bad) return 'wrong_session';
    if (r.s >= 500) return r.s === 503 && r.ra && overlaps(r, redisFrom, redisTo) ? 'redis_503' : '5xx';
    if (r.s === 429) return '429';
    if (r.s >= 400) return '4xx';
    return 'ok';
  };
  const viaNginx = (r: Rec) => !r.k.endsWith('_authorize'); // the stand-in's form is posted to directly
  const during = recs.filter((r) => r.t >= result.loadStartedAt && r.t < result.loadEndedAt && viaNginx(r));
  const byOutcome = (rs: Rec[]) => {
    const c: Record<string, number> = {};
    for (const r of rs) c[outcome(r)] = (c[outcome(r)] ?? 0) + 1;
    return c;
  };
  const failed = (rs: Rec[]) => rs.filter((r) => !['ok', 'redis_503'].includes(outcome(r)));
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
  };
  const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;

  const inReplicaWindow = recs.filter((r) => viaNginx(r) && overlaps(r, repFrom, repTo));
  const inRedisWindow = recs.filter((r) => viaNginx(r) && overlaps(r, redisFrom, redisTo));
  const redis5xx = inRedisWindow.filter((r) => r.s >= 500);
  const lost = result.check.filter((c) => !c.ok);
  const allFailed = failed(recs);

  check(
    inReplicaWindow.length > 0 && failed(inReplicaWindow).length === 0,
    `replica restart: 0 failed of ${inReplicaWindow.length} requests from SIGTERM to ready again`,
  );
  check(
    redis5xx.every((r) => r.s === 503 && r.ra === 1) && inRedisWindow.every((r) => r.s !== 0),
    `Redis restart: ${redis5xx.length} answers were 5xx, every one a 503 with Retry-After; no connection errors (${inRedisWindow.length} requests in the window)`,
  );
  check(allFailed.length === 0, `no failed request at all, outside the Redis restart's 503s (${recs.length} requests)`);
  check(
    lost.length === 0 && result.check.length === SESSIONS,
    `0 lost sessions: ${result.check.length - lost.length} of ${SESSIONS} still connected as themselves`,
  );
  check(result.overload === 0, `the load generator kept up (${result.overload} requests not sent)`);

  // Refreshes: every refresh token presented once, the stand-in's count = the replicas' logs = their metrics.
  const rt = statsAfter.xt.refreshTokens;
  const rtBefore = statsBeforeLoad.xt.refreshTokens;
  const logged = replicas.map(
    (r) => logLines(r.proc.out, (o) => o.msg === 'tokens refreshed' && o.provider === 'xt').length,
  );
  const rejectedLogged = replicas.map(
    (r) => logLines(r.proc.out, (o) => o.msg === 'refresh rejected by the provider; connection ended').length,
  );
  const metricSum = (outcome: string) =>
    replicas.reduce((n, r) => n + [...r.lastByGen.values()].reduce((m, s) => m + (s.refreshes[outcome] ?? 0), 0), 0);
  const loadUsers = Object.entries(rt.byUser).filter(
    ([u]) => Number(u) >= 20_000_000 && Number(u) < 20_000_000 + SESSIONS,
  );
  const perSession = Array.from({ length: SESSIONS }, (_, i) => rt.byUser[String(20_000_000 + i)] ?? 0);
  check(
    rt.reused === 0,
    `refresh: no refresh token presented twice (${rt.presented} presented, ${rt.distinct} distinct)`,
  );
  check(
    metricSum('rejected') === 0 && rejectedLogged.every((n) => n === 0),
    `refresh: none rejected (xtc_refreshes_total{outcome="rejected"} = ${metricSum('rejected')})`,
  );
  const loggedSum = logged.reduce((a, b) => a + b, 0);
  check(
    rt.presented === loggedSum,
    `refresh: ${rt.presented} refresh grants at the stand-in = ${loggedSum} "tokens refreshed" in the replicas' logs`,
  );
  // Each process lifetime's counter against its own log lines. A running one's last scrape is
  // exact; a stopped one's was taken moments before its metrics listener closed, so a refresh that
  // finished in between (its requests in flight finish after the drain, all at once) is in its log
  // but was never scraped: the same tail a Prometheus loses. At most MAX_UNSCRAPED of them.
  const lifetimes = replicas.flatMap((r) =>
    Array.from({ length: r.proc.gen }, (_, i) => {
      const gen = i + 1;
      const logs = logLines(r.proc.outOf(gen), (o) => o.msg === 'tokens refreshed' && o.provider === 'xt').length;
      return {
        replica: r.name,
        gen,
        running: gen === r.proc.gen,
        logs,
        metric: r.lastByGen.get(gen)?.refreshes.ok ?? 0,
      };
    }),
  );
  const unscraped = lifetimes.filter((l) => !l.running).reduce((n, l) => n + l.logs - l.metric, 0);
  check(
    lifetimes.every((l) =>
      l.running ? l.metric === l.logs : l.metric <= l.logs && l.logs - l.metric <= MAX_UNSCRAPED,
    ),
    `refresh: xtc_refreshes_total{outcome="ok"} per process lifetime = its "tokens refreshed" lines (${lifetimes
      .map((l) => `${l.replica}#${l.gen}${l.running ? '' : ' stopped'}: ${l.metric}/${l.logs}`)
      .join(', ')}; ${unscraped} after a stopped one's last scrape)`,
  );
  check(
    perSession.every((n) => n >= 1),
    `refresh: every one of the ${SESSIONS} sessions was refreshed during the run (min ${Math.min(...perSession)}, max ${Math.max(...perSession)})`,
  );

  // nginx's access log: which replica answered, and how many requests went to a second one.
  const access = nginx.out.split('\n').filter((l) => l.includes(' upstream='));
  const upstreamCounts: Record<string, number> = {};
  const retried = { refused: 0, unavailable: 0 };
  for (const l of access) {
    const u = /upstream=(\S+(?:, \S+)*) upstream_status/.exec(l)?.[1] ?? '-';
    const first = /upstream_status=(\d+),/.exec(l)?.[1];
    if (first === '502')
      retried.refused++; // nginx logs a refused connection as 502 for that attempt
    else if (first) retried.unavailable++;
    const last = u.split(', ').pop()!;
    upstreamCounts[last] = (upstreamCounts[last] ?? 0) + 1;
  }
  const redisInfo = execFileSync('redis-cli', ['-p', String(redisPort), 'info', 'memory'], { encoding: 'utf8' });
  const redisKeys = execFileSync('redis-cli', ['-p', String(redisPort), 'dbsize'], { encoding: 'utf8' }).trim();
  const redisMem = /used_memory_human:(\S+)/.exec(redisInfo)?.[1] ?? '?';

  // CPU and memory per replica over the load (every lifetime's CPU seconds since the load began).
  const loadSeconds = (result.loadEndedAt - result.loadStartedAt) / 1000;
  const cpuOf = (r: Replica) =>
    [...r.lastByGen.entries()].reduce(
      (n, [gen, s]) => n + (r.cpuAtLoadStart.has(gen) ? s.cpu - (r.cpuAtLoadStart.get(gen) ?? 0) : 0),
      0,
    );

  const cpuTotal = replicas.reduce((n, r) => n + cpuOf(r), 0);
  const kinds = [...new Set(during.map((r) => r.k))] as Kind[];
  const latencies = during.filter((r) => outcome(r) === 'ok').map((r) => r.ms);
  const duration = (Date.now() - runStarted) / 1000;
  const rel = (t: number) => `${((t - result.loadStartedAt) / 1000).toFixed(1)} s`;

  const md = `# Topology run (nginx → two replicas → Redis)

Written by \`npm run topology\` (test/topology/run.ts) on ${new Date().toISOString().slice(0, 10)}: ${versions.cpus} × ${versions.cpuModel},
Node ${versions.node}, ${versions.nginx}, Redis ${versions.redis}. Everything on one machine, on 127.0.0.1:
nginx with the real \`deploy/nginx.conf\` (TLS, self-signed), two replicas (\`node scripts/start.mjs\`, NODE_ENV=production,
SESSION_STORE=redis, TRUST_PROXY=1, SHUTDOWN_DRAIN=2s), one redis-server (append-only file), the stand-ins
(access tokens of ${ACCESS_TTL_S} s, REFRESH_SKEW=${REFRESH_SKEW_MS / 1000}s) and the load generator, all sharing the same ${versions.cpus} CPUs.
The machine's load average (1 min) was ${loadavgAtStart.toFixed(1)} when the load began and ${loadavgAtEnd.toFixed(1)} when it ended: whatever else runs there shows in the latencies.
Run time ${Math.round(duration)} s (with the build before it: add its time).

Result: **${failures.length === 0 ? 'pass' : `FAIL (${failures.length})`}**.

## Chromium through nginx

| step | served by |
| --- | --- |
| callback (the connection is made) | ${browserFacts.callback} |
| that replica gets SIGTERM and exits 0 | |
| /account after the token expired (the refresh) | ${browserFacts.refresh} |
| Disconnect (POST /auth/xt/logout) | ${browserFacts.disconnect} |

## TRUST_PROXY

- Audit: ${trustFacts.audit}.
- Rate limit (AUTH_RATE_LIMIT=${AUTH_RATE_LIMIT}/min per client, counted in Redis for both replicas), each request with a different forged X-Forwarded-For: ${trustFacts.rateLimit}.
- The load's ${SESSIONS} sessions came from ${SESSIONS} addresses (127.0.1.x) and the churn from 127.0.101.x+: none was limited.

## Load

${SESSIONS} sessions connected through nginx in ${(result.connectMs / 1000).toFixed(1)} s (login → the stand-in's form → callback, 8 at a time). Then ${loadSeconds.toFixed(1)} s of
open-loop traffic at ${RATE} requests/s over them (${kinds.filter((k) => !k.startsWith('churn')).join(', ')}), plus 2 loops of a new person logging in
and disconnecting (${result.churnCycles.ok} cycles completed, ${result.churnCycles.failed} cut short by the Redis restart).

| | |
| --- | --- |
| requests through nginx during the load | ${during.length} (${(during.length / loadSeconds).toFixed(0)}/s) |
| outcomes | ${Object.entries(byOutcome(during))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} |
| failed (connection errors, 5xx other than the Redis restart's 503s, 429, 4xx, a session not connected) | ${allFailed.length} |
| latency of the successful ones | p50 ${ms(pct(latencies, 50))}, p95 ${ms(pct(latencies, 95))}, p99 ${ms(pct(latencies, 99))}, max ${ms(pct(latencies, 100))} |
| answered by (nginx's log, whole run) | ${Object.entries(upstreamCounts)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} |
| passed on to the other replica by nginx (whole run) | ${retried.refused} after a refused connection (a stopped replica), ${retried.unavailable} after a 503 (Redis away; the other answered 503 too) |
| sessions still connected at the end | ${result.check.length - lost.length} of ${SESSIONS} |

| kind | requests | p50 | p95 | p99 |
| --- | --- | --- | --- | --- |
${kinds
  .map((k) => {
    const xs = during.filter((r) => r.k === k && outcome(r) === 'ok').map((r) => r.ms);
    return `| ${k} | ${during.filter((r) => r.k === k).length} | ${ms(pct(xs, 50))} | ${ms(pct(xs, 95))} | ${ms(pct(xs, 99))} |`;
  })
  .join('\n')}

### Replica ${restarted.name} restarted (SIGTERM at ${rel(replicaWindow.sigterm)})

Drained for 2 s, exited with ${replicaWindow.code} at ${rel(replicaWindow.exited)} (${replicaWindow.exited - replicaWindow.sigterm} ms after SIGTERM), ready again at ${rel(replicaWindow.ready)}.
Requests overlapping that window (to 1 s after it was ready): ${inReplicaWindow.length}; failed: **${failed(inReplicaWindow).length}**; outcomes: ${JSON.stringify(byOutcome(inReplicaWindow))}.

### Redis restarted (SIGTERM at ${rel(redisWindow.stop)})

Down from ${rel(redisWindow.stop)} to ${rel(redisWindow.up)} (${redisWindow.up - redisWindow.stop} ms, ${REDIS_DOWN_MS} ms of it stopped), both replicas ready at ${rel(redisWindow.ready)}.
Requests overlapping that window (to ${REDIS_GRACE_MS / 1000} s after both were ready): ${inRedisWindow.length}; 5xx: ${redis5xx.length}, of them 503 with Retry-After: **${redis5xx.filter((r) => r.s === 503 && r.ra).length}**, other 5xx: **${redis5xx.filter((r) => !(r.s === 503 && r.ra)).length}**; connection errors: ${inRedisWindow.filter((r) => r.s === 0).length}.
${redis5xx.length ? `The last 503 started at ${rel(Math.max(...redis5xx.map((r) => r.t)))}.` : ''} Sessions survive because Redis writes an append-only file and flushes it on SIGTERM.

## Refreshes

| | |
| --- | --- |
| refresh-token grants at the stand-in during the load | ${rt.presented - rtBefore.presented} (whole run ${rt.presented}) |
| refresh tokens presented twice | **${rt.reused}** |
| per session (the ${SESSIONS} of the load) | min ${Math.min(...perSession)}, median ${pct(perSession, 50)}, max ${Math.max(...perSession)} (${loadUsers.length} sessions refreshed) |
| "tokens refreshed" in the replicas' logs | ${logged.map((n, i) => `${replicas[i]!.name}: ${n}`).join(', ')} (sum ${loggedSum}) |
| xtc_refreshes_total by outcome, both replicas, every lifetime (last scrape of each) | ${['ok', 'skipped_by_lock', 'transient', 'rejected'].map((o) => `${o}: ${metricSum(o)}`).join(', ')} |
| ok: scraped / logged, per process lifetime | ${lifetimes.map((l) => `${l.replica}#${l.gen}${l.running ? '' : ' (stopped)'}: ${l.metric} / ${l.logs}`).join(', ')} |

## Resources (sizing)

| replica | CPU during the load | RSS, highest seen | RSS at the end |
| --- | --- | --- | --- |
${replicas
  .map(
    (r) =>
      `| ${r.name} | ${cpuOf(r).toFixed(1)} CPU-s (${((cpuOf(r) / loadSeconds) * 100).toFixed(0)} % of one core) | ${(r.maxRss / 2 ** 20).toFixed(0)} MB | ${((r.lastByGen.get(r.proc.gen)?.rss ?? 0) / 2 ** 20).toFixed(0)} MB |`,
  )
  .join('\n')}

Both replicas together: ${cpuTotal.toFixed(1)} CPU-s for ${during.length} requests, about ${((cpuTotal * 1000) / during.length).toFixed(1)} ms of replica CPU per
request of this mix, so one core serves roughly ${Math.round(during.length / cpuTotal)} requests/s of it (nginx's TLS, Redis and the stand-ins not included).
Redis at the end: ${redisKeys} keys, ${redisMem} used.

${failures.length ? `## Failed assertions\n\n${failures.map((f) => `- ${f}`).join('\n')}\n` : ''}`;
  fs.writeFileSync(path.join(ROOT, 'bench/results/topology.md'), md);
  say(`figures written to bench/results/topology.md (${Math.round(duration)} s)`);
  if (failures.length) {
    const examples = allFailed.slice(0, 10).map((r) => `${rel(r.t)} ${r.k} ${r.s} ${r.e ?? ''} ${r.bad ?? ''}`);
    if (examples.length) say(`first failed requests:\n  ${examples.join('\n  ')}`);
  }
}

main()
  .then(async () => {
    await browserToClose?.close().catch(() => undefined);
    for (const p of procs) p.signal('SIGTERM');
    await Promise.all(procs.map((p) => p.waitExit(30_000).catch(() => p.kill())));
    killAll();
    if (failures.length) {
      say(`${failures.length} assertion(s) failed; logs kept in ${TMP}/logs`);
      process.exit(1);
    }
    fs.rmSync(TMP, { recursive: true, force: true });
    say('pass');
    process.exit(0);
  })
  .catch(async (err: Error) => {
    say(`error: ${err.stack ?? err.message}`);
    for (const p of procs) if (p.name !== 'load') say(`--- ${p.name} (last lines) ---\n${p.tail(15)}`);
    await browserToClose?.close().catch(() => undefined);
    killAll();
    say(`logs kept in ${TMP}/logs`);
    process.exit(1);
  });

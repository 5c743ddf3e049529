/**
 * The topology test's load generator, run as its own process (`node --import tsx
 * test/topology/load.ts <job.json>`) so its work never shares an event loop with what it measures.
 *
 *  1. connect: `sessions` people connect XT.COM through nginx, each from its own loopback address
 *     (127.0.1.x, like clients on the internet), approving at the stand-in's form over plain HTTP;
 *  2. load: for `seconds`, an open-loop mix at `rate` requests per second over those sessions
 *     (pages, /api/session, /api/xt balances), plus `churnWorkers` loops of a fresh person logging
 *     in and disconnecting (from 127.0.2.x);
 *  3. check: every one of the sessions is still connected (/api/session), as the same XT.COM user.
 *
 * Progress goes to stdout as JSON lines ({"phase": …}); the record of every request goes to
 * `out`. Every loop is bounded by the clock: nothing here waits for the orchestrator.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface LoadJob {
  /** nginx: https://127.0.0.1:<port> (PUBLIC_URL). */
  base: string;
  /** The CA to check nginx's certificate with (the self-signed tls.crt). */
  caFile: string;
  sessions: number;
  seconds: number;
  /** Requests per second over the connected sessions (open loop: sent on schedule, not after the previous answer). */
  rate: number;
  churnWorkers: number;
  /** At most this many requests of the mix in flight; one more is counted as `overload` and not sent. */
  maxInFlight: number;
  out: string;
}

/** What a request was; `churn_*` are the login/disconnect loops, `check` the final look at each session. */
export type Kind =
  | 'connect_login'
  | 'connect_authorize'
  | 'connect_callback'
  | 'connect_session'
  | 'page_home'
  | 'page_account'
  | 'api_session'
  | 'xt_balances'
  | 'churn_login'
  | 'churn_authorize'
  | 'churn_callback'
  | 'churn_session'
  | 'churn_logout'
  | 'check';

/** One request: start (epoch ms), latency, status (0: no HTTP answer), Retry-After present, error code, problem. */
export interface Rec {
  t: number;
  ms: number;
  k: Kind;
  s: number;
  ra?: 1;
  e?: string;
  /** A 200 that is wrong: a session that is not connected (any more), or as someone else. */
  bad?: string;
}

export interface LoadResult {
  job: LoadJob;
  connectMs: number;
  loadStartedAt: number;
  loadEndedAt: number;
  overload: number;
  records: Rec[];
  /** Per session at the end: connected as its own user (true), or what was seen. */
  check: { index: number; ok: boolean; seen: string }[];
  churnCycles: { ok: number; failed: number };
}

interface Session {
  index: number;
  user: string;
  agent: https.Agent;
  cookie: string;
  lastBalancesAt: number;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const job = JSON.parse(fs.readFileSync(process.argv[2] ?? '', 'utf8')) as LoadJob;
const ca = fs.readFileSync(job.caFile);
const base = new URL(job.base);
const records: Rec[] = [];
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client at its own source address, keeping its connection to nginx (dropped after 20 s idle, well before nginx's 65 s). */
const agentFor = (localAddress: string) =>
  new https.Agent({ keepAlive: true, maxSockets: 4, timeout: 20_000, ca, localAddress });
const sessionAddress = (i: number) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
const churnAddress = (i: number) => `127.0.${101 + Math.floor((i % 5000) / 250)}.${1 + (i % 250)}`;

/** One request; never rejects (a socket error is status 0 with its code). Records it under `kind`. */
function request(
  kind: Kind,
  url: URL,
  opts: {
    agent?: https.Agent | http.Agent;
    method?: string;
    cookie?: string;
    body?: string;
    headers?: Record<string, string>;
  },
): Promise<Answer & { rec: Rec }> {
  const t = Date.now();
  const started = performance.now();
  const lib = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { accept: 'text/html,application/json', ...opts.headers };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(opts.body));
  }
  return new Promise((resolve) => {
    const done = (status: number, h: http.IncomingHttpHeaders, body: string, e?: string) => {
      const rec: Rec = { t, ms: Math.round((performance.now() - started) * 100) / 100, k: kind, s: status };
      if (h['retry-after'] !== undefined) rec.ra = 1;
      if (e) rec.e = e;
      records.push(rec);
      resolve({ status, headers: h, body, rec });
    };
    const req = lib.request(url, { method: opts.method ?? 'GET', agent: opts.agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 1 << 20) body += c; // the answers are small; never hold a runaway one
      });
      res.on('end', () => done(res.statusCode ?? 0, res.headers, body));
      res.on('error', (err: NodeJS.ErrnoException) => done(0, {}, '', err.code ?? err.message));
    });
    req.setTimeout(30_000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => done(0, {}, '', err.code ?? err.message));
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const cookieOf = (a: Answer): string | undefined => {
  const set = a.headers['set-cookie'];
  return set?.map((c) => c.split(';')[0]!).find((c) => /^(__Host-xtc|xtc\.sid)=/.test(c));
};

/**
 * Login → the stand-in's Authorize as `user` → callback, through nginx from `agent`'s address.
 * Returns the session cookie, or the step that failed.
 */
async function login(
  agent: https.Agent,
  user: string,
  prefix: 'connect' | 'churn',
): Promise<{ cookie?: string; failed?: string }> {
  const start = await request(`${prefix}_login`, new URL('/auth/xt/login', base), { agent });
  const location = start.headers.location;
  const cookie = cookieOf(start);
  if (start.status !== 302 || !location || !cookie) return { failed: `login ${start.status}` };
  const authorize = new URL(location);
  const form = new URLSearchParams({ decision: 'approve', as_user: user });
  for (const k of ['client_id', 'redirect_uri', 'scope', 'state']) form.set(k, authorize.searchParams.get(k) ?? '');
  const decision = await request(`${prefix}_authorize`, new URL(`${authorize.pathname}/decision`, authorize), {
    method: 'POST',
    body: form.toString(),
  });
  if (decision.status !== 302 || !decision.headers.location) return { failed: `authorize ${decision.status}` };
  const back = await request(`${prefix}_callback`, new URL(decision.headers.location), { agent, cookie });
  const session = cookieOf(back);
  if (back.status !== 303 || !session) return { failed: `callback ${back.status}` };
  return { cookie: session };
}

/** GET /api/session: connected as `user`? (The answer's csrfToken is kept for a logout.) */
async function sessionState(
  kind: Kind,
  s: { agent: https.Agent; cookie: string; user: string },
): Promise<{ ok: boolean; csrf?: string; seen: string }> {
  const a = await request(kind, new URL('/api/session', base), {
    agent: s.agent,
    cookie: s.cookie,
    headers: { accept: 'application/json' },
  });
  if (a.status !== 200) return { ok: false, seen: `status ${a.status}${a.rec.e ? ` ${a.rec.e}` : ''}` };
  let body: { connected: boolean; userId: string | null; csrfToken?: string | null };
  try {
    body = JSON.parse(a.body) as typeof body;
  } catch {
    a.rec.bad = 'not JSON';
    return { ok: false, seen: a.rec.bad };
  }
  if (!body.connected || body.userId !== s.user) {
    a.rec.bad = body.connected ? `connected as ${body.userId}` : 'not connected';
    return { ok: false, seen: a.rec.bad };
  }
  return { ok: true, csrf: body.csrfToken ?? undefined, seen: 'connected' };
}

async function connectAll(): Promise<Session[]> {
  const sessions: Session[] = [];
  let next = 0;
  const worker = async () => {
    while (next < job.sessions) {
      const index = next++;
      const s: Session = {
        index,
        user: String(20_000_000 + index),
        agent: agentFor(sessionAddress(index)),
        cookie: '',
        lastBalancesAt: 0,
      };
      for (let attempt = 1; ; attempt++) {
        const r = await login(s.agent, s.user, 'connect');
        if (r.cookie) {
          s.cookie = r.cookie;
          const state = await sessionState('connect_session', s);
          if (state.ok) break;
        }
        if (attempt === 3)
          throw new Error(`session ${index} could not connect: ${r.failed ?? 'not connected after the callback'}`);
        await sleep(500);
      }
      sessions.push(s);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return sessions.sort((a, b) => a.index - b.index);
}

const MIX: [number, (s: Session) => Promise<unknown>][] = [
  [10, (s) => request('page_home', new URL('/', base), { agent: s.agent, cookie: s.cookie })],
  [10, (s) => request('page_account', new URL('/account', base), { agent: s.agent, cookie: s.cookie })],
  [45, (s) => sessionState('api_session', s)],
  [
    35,
    (s) => {
      // At most one balances call a second per person: XT.COM allows three (and /account makes one too).
      if (Date.now() - s.lastBalancesAt < 1000) return sessionState('api_session', s);
      s.lastBalancesAt = Date.now();
      return request('xt_balances', new URL('/api/xt/spot/v4/balances?currencies=usdt,btc', base), {
        agent: s.agent,
        cookie: s.cookie,
        headers: { accept: 'application/json' },
      });
    },
  ],
];
const TOTAL_WEIGHT = MIX.reduce((n, [w]) => n + w, 0);

function pick(): (s: Session) => Promise<unknown> {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const [w, fn] of MIX) {
    r -= w;
    if (r < 0) return fn;
  }
  return MIX[0]![1];
}

/** A fresh person logs in, looks, and disconnects (POST with the form token and our Origin), over and over. */
async function churn(worker: number, until: number, tally: { ok: number; failed: number }): Promise<void> {
  for (let cycle = 0; Date.now() < until; cycle++) {
    const n = worker * 10_000 + cycle;
    const agent = agentFor(churnAddress(n));
    const user = String(30_000_000 + n);
    let ok = false;
    const r = await login(agent, user, 'churn');
    if (r.cookie) {
      const state = await sessionState('churn_session', { agent, cookie: r.cookie, user });
      if (state.ok && state.csrf) {
        const out = await request('churn_logout', new URL('/auth/xt/logout', base), {
          agent,
          method: 'POST',
          cookie: r.cookie,
          body: new URLSearchParams({ _csrf: state.csrf }).toString(),
          headers: { origin: base.origin },
        });
        ok = out.status === 303;
      }
    }
    if (ok) tally.ok++;
    else tally.failed++;
    agent.destroy();
    await sleep(400);
  }
}

/** Each session's state after the traffic (8 at a time): connected as its own user, or what was seen. */
async function checkEverySession(sessions: Session[]): Promise<LoadResult['check']> {
  const check: LoadResult['check'] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < sessions.length) {
        const s = sessions[next++]!;
        const state = await sessionState('check', s);
        check.push({ index: s.index, ok: state.ok, seen: state.seen });
      }
    }),
  );
  check.sort((a, b) => a.index - b.index);
  return check;
}

async function main(): Promise<void> {
  const connectStarted = Date.now();
  const sessions = await connectAll();
  const connectMs = Date.now() - connectStarted;
  say({ phase: 'connected', sessions: sessions.length, ms: connectMs });

  const loadStartedAt = Date.now();
  const until = loadStartedAt + job.seconds * 1000;
  say({ phase: 'load', startedAt: loadStartedAt });
  const tally = { ok: 0, failed: 0 };
  const churns = Array.from({ length: job.churnWorkers }, (_, w) => churn(w, until, tally));

  let inFlight = 0;
  let overload = 0;
  const pending = new Set<Promise<unknown>>();
  const interval = 1000 / job.rate;
  for (let i = 0; ; i++) {
    const due = loadStartedAt + i * interval;
    if (due >= until) break;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    if (inFlight >= job.maxInFlight) {
      overload++;
      continue;
    }
    const s = sessions[Math.floor(Math.random() * sessions.length)]!;
    inFlight++;
    const p = pick()(s).finally(() => {
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all([...pending, ...churns]);
  const loadEndedAt = Date.now();
  say({ phase: 'loaded', requests: records.length, overload });

  // Every session, once more, after the traffic: still connected, as the same person?
  await sleep(500);
  const check = await checkEverySession(sessions);
  const result: LoadResult = {
    job,
    connectMs,
    loadStartedAt,
    loadEndedAt,
    overload,
    records,
    check,
    churnCycles: tally,
  };
  fs.writeFileSync(job.out, JSON.stringify(result));
  say({ phase: 'done', lost: check.filter((c) => !c.ok).length });
  for (const s of sessions) s.agent.destroy();
}

main().catch((err: Error) => {
  process.stderr.write(`load: ${err.stack ?? err.message}\n`);
  process.exit(1);
});

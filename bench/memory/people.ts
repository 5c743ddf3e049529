/**
 * bench/memory.ts's login phase: SESSIONS people connected for real, CONCURRENCY at a time, with
 * readings at the milestones; then what the store holds, and whether their sessions answer right.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { r2, rssMb } from '../lib.js';
import { connectXt } from '../apps.js';
import { type Milestone, reading } from './readings.js';
import { CONCURRENCY, ROUTES, type Route, SESSIONS, SMOKE } from './settings.js';

/** The app under measurement: its process id, its URL and its Prometheus listener's /metrics. */
export interface App {
  pid: number;
  url: string;
  metricsUrl: string;
}

/** A wrong answer: recorded (and reported), or, in a smoke run, the end of the run. */
export type Note = (problem: string) => void;

/** What a correct answer looks like on each route, for a connected person. */
const CORRECT: Record<Route, (status: number, body: string) => boolean> = {
  '/api/session': (s, b) => s === 200 && /"connected":true/.test(b),
  '/account': (s, b) => s === 200 && /data-state="connected"|Disconnect/.test(b),
};

/** One person connected, tried up to three times (a reset socket among 20,000 logins is not the app's memory). */
async function connectWithRetry(app: string, user: number): Promise<{ cookie: string; retries: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return { cookie: (await connectXt(app, user)).cookie, retries: attempt };
    } catch (err) {
      if (attempt >= 2)
        throw new Error(
          `login of user ${user} failed three times: ${err instanceof Error ? err.message : String(err)}`,
        );
    }
  }
}

export async function checkAnswer(app: string, route: Route, cookie: string): Promise<string | undefined> {
  const res = await fetch(`${app}${route}`, { headers: { cookie } });
  const body = await res.text();
  return CORRECT[route](res.status, body) ? undefined : `${route} answered ${res.status}: ${body.slice(0, 200)}`;
}

/** Rows in the app's SQLite file (read-only, from this process): live XT.COM connections and sessions, and the files' size. */
export function countStored(dataDir: string): { connections: number; sessions: number; fileMb: number } {
  const file = path.join(dataDir, 'xt-connect.sqlite');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const n = (sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;
    const bytes = ['', '-wal'].reduce((a, x) => a + (fs.existsSync(file + x) ? fs.statSync(file + x).size : 0), 0);
    return {
      connections: n("SELECT COUNT(*) AS n FROM connections WHERE provider = 'xt' AND expires > ?", Date.now()),
      sessions: n('SELECT COUNT(*) AS n FROM sessions WHERE expires > ?', Date.now()),
      fileMb: r2(bytes / 2 ** 20),
    };
  } finally {
    db.close();
  }
}

/**
 * Connects SESSIONS people, CONCURRENCY at a time: their cookies (person i's at i), RSS and heap at
 * 0, 1000, 5000, 10000, 20000 sessions (those up to SESSIONS, and SESSIONS), the time and the retries.
 */
export async function connectEveryone(
  app: App,
): Promise<{ cookies: string[]; milestones: Milestone[]; seconds: number; retries: number }> {
  const marks = [...new Set([0, 1000, 5000, 10_000, 20_000].filter((m) => m <= SESSIONS).concat(SESSIONS))].sort(
    (a, b) => a - b,
  );
  const milestones: Milestone[] = [{ sessions: 0, elapsedS: 0, ...(await reading(app.pid, app.metricsUrl)) }];
  const cookies: string[] = new Array<string>(SESSIONS);
  let next = 0;
  let done = 0;
  let retries = 0;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, SESSIONS) }, async () => {
      for (let i = next++; i < SESSIONS; i = next++) {
        const r = await connectWithRetry(app.url, i);
        cookies[i] = r.cookie;
        retries += r.retries;
        done++;
        if (done % 1000 === 0)
          process.stderr.write(`${done}/${SESSIONS} connected (${Math.round((performance.now() - t0) / 1000)} s)\n`);
        if (marks.includes(done) && done > 0) {
          const sessions = done;
          const elapsedS = r2((performance.now() - t0) / 1000);
          const rss = rssMb(app.pid); // read now; the scrape below may land a little later
          pending.push(
            reading(app.pid, app.metricsUrl).then(
              (x) => void milestones.push({ sessions, elapsedS, ...x, rssMb: rss }),
            ),
          );
        }
      }
    }),
  );
  await Promise.all(pending);
  milestones.sort((a, b) => a.sessions - b.sessions);
  return { cookies, milestones, seconds: r2((performance.now() - t0) / 1000), retries };
}

/** Every cookie answers as connected on both routes in a smoke run; 200 of them, spread evenly, otherwise. How many were checked. */
export async function checkSessions(app: App, cookies: string[], note: Note): Promise<number> {
  const checkEvery = SMOKE ? 1 : Math.max(1, Math.floor(SESSIONS / 200));
  let checked = 0;
  for (let i = 0; i < SESSIONS; i += checkEvery) {
    for (const route of ROUTES) {
      const wrong = await checkAnswer(app.url, route, cookies[i]!);
      if (wrong) note(`session ${i}: ${wrong}`);
    }
    checked++;
  }
  return checked;
}

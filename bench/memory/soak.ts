/**
 * bench/memory.ts's soak: LANES autocannon processes side by side, each running back-to-back slices
 * with another session's cookie each slice (drawn evenly from all of them), while RSS and heap are
 * read every SAMPLE_SECONDS.
 */
import { autocannon, loadAverage, r2 } from '../lib.js';
import { type App, type Note, checkAnswer } from './people.js';
import { type Sample, type SliceRun, reading } from './readings.js';
import {
  CONNECTIONS,
  LANES,
  ROUTES,
  type Route,
  SAMPLE_SECONDS,
  SESSIONS,
  SLICE_SECONDS,
  SOAK_SECONDS,
} from './settings.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Soak {
  seconds: number;
  loadBefore: number;
  samples: Sample[];
  runs: SliceRun[];
  /** autocannon's connections in each lane. */
  perLane: number;
  /** Seconds since the soak began (the idle reading after it is timed on the same clock). */
  since: () => number;
}

/** What the lanes and the sampler share while the soak runs. */
interface Soaking {
  app: App;
  cookies: string[];
  note: Note;
  perLane: number;
  /** The index of the cookie for the next slice, whichever lane takes it. */
  nextCookie: () => number;
  since: () => number;
  s0: number;
  runs: SliceRun[];
  samples: Sample[];
}

export async function soak(app: App, cookies: string[], note: Note): Promise<Soak> {
  const slicesPerLane = Math.max(1, Math.ceil(SOAK_SECONDS / SLICE_SECONDS));
  const planned = LANES * slicesPerLane;
  let sliceNo = 0;
  const cookieFor = (j: number) => Math.floor(((j + 0.5) * SESSIONS) / planned) % SESSIONS;
  const loadBefore = loadAverage();
  const s0 = performance.now();
  const since = () => (performance.now() - s0) / 1000;
  const s: Soaking = {
    app,
    cookies,
    note,
    perLane: Math.max(1, Math.round(CONNECTIONS / LANES)),
    nextCookie: () => cookieFor(sliceNo++),
    since,
    s0,
    runs: [],
    samples: [],
  };
  s.samples.push({ t: 0, ...(await reading(app.pid, app.metricsUrl)) });
  await Promise.all([...Array.from({ length: LANES }, (_, lane) => runLane(s, lane)), sampleEvery(s)]);
  // The lanes overrun the end a little (autocannon's start); one more sample only if that was a while.
  if (s.samples.at(-1)!.t < since() - SAMPLE_SECONDS / 2)
    s.samples.push({ t: r2(since()), ...(await reading(app.pid, app.metricsUrl)) });
  return { seconds: r2(since()), loadBefore, samples: s.samples, runs: s.runs, perLane: s.perLane, since };
}

/** One lane: slices of SLICE_SECONDS on its route until the soak's time is up, each checked first with its cookie. */
async function runLane(s: Soaking, lane: number): Promise<void> {
  const route: Route = ROUTES[lane % ROUTES.length]!;
  for (;;) {
    const left = SOAK_SECONDS - s.since();
    if (left < 1) return;
    const cookieIndex = s.nextCookie();
    const cookie = s.cookies[cookieIndex]!;
    const wrong = await checkAnswer(s.app.url, route, cookie);
    if (wrong) s.note(`soak, session ${cookieIndex}: ${wrong}`);
    const seconds = Math.max(1, Math.min(SLICE_SECONDS, Math.round(left)));
    const startedAtS = r2(s.since());
    const result = await autocannon(`${s.app.url}${route}`, {
      connections: s.perLane,
      seconds,
      headers: { cookie },
    });
    s.runs.push({ lane, route, cookieIndex, seconds, startedAtS, result });
    if (result.non2xx > 0 || result.errors > 0)
      s.note(`soak, ${route} with session ${cookieIndex}: ${result.non2xx} non-2xx and ${result.errors} errors`);
  }
}

/** A reading every SAMPLE_SECONDS of the soak, on the soak's clock. */
async function sampleEvery(s: Soaking): Promise<void> {
  for (let k = 1; k * SAMPLE_SECONDS <= SOAK_SECONDS; k++) {
    await sleep(Math.max(0, k * SAMPLE_SECONDS * 1000 - (performance.now() - s.s0)));
    s.samples.push({ t: r2(s.since()), ...(await reading(s.app.pid, s.app.metricsUrl)) });
    process.stderr.write(`soak ${Math.round(s.since())}/${SOAK_SECONDS} s: RSS ${s.samples.at(-1)!.rssMb} MB\n`);
  }
}

/** bench/memory.ts's settings, from the environment (bench/memory.ts's header says what each changes), and its goal. */

export const SMOKE = process.env.SMOKE === '1';
export const SESSIONS = Number(process.env.SESSIONS ?? 20_000);
export const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
export const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
export const LANES = Math.max(1, Number(process.env.LANES ?? 4));
export const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
export const SLICE_SECONDS = Number(process.env.SLICE_SECONDS ?? 10);
export const SAMPLE_SECONDS = Number(process.env.SAMPLE_SECONDS ?? 10);
/** After the soak, this long with no load, then one more reading: does RSS come back down (GC headroom) or stay (retained)? */
export const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? (SMOKE ? 0 : 15));

/** The goal from the performance issue. */
export const GOAL = { sessions: 20_000, soakSeconds: 120, rssMb: 200, flatMb: 10 };

export const ROUTES = ['/api/session', '/account'] as const;
export type Route = (typeof ROUTES)[number];

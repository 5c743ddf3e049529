/**
 * bench/memory.ts's readings of the app's memory (RSS from /proc, heap from its /metrics), and the
 * arithmetic over a series of them: mean, least-squares slope, last third against first third.
 */
import { type LoadResult, r2, rssMb } from '../lib.js';
import type { Route } from './settings.js';

export interface Reading {
  rssMb: number;
  /** V8 heap used, heap total (what V8 holds) and external memory (Buffers and the like), MB, from the app's /metrics; null when they could not be read. */
  heapMb: number | null;
  heapTotalMb: number | null;
  externalMb: number | null;
}

export async function reading(pid: number, metricsUrl: string): Promise<Reading> {
  const rss = rssMb(pid);
  const text = await fetch(metricsUrl).then(
    (r) => r.text(),
    () => '',
  );
  const mb = (name: string) => {
    const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
    return m ? r2(Number(m[1]) / 2 ** 20) : null;
  };
  return {
    rssMb: rss,
    heapMb: mb('nodejs_heap_size_used_bytes'),
    heapTotalMb: mb('nodejs_heap_size_total_bytes'),
    externalMb: mb('nodejs_external_memory_bytes'),
  };
}

export interface Milestone extends Reading {
  sessions: number;
  elapsedS: number;
}

export interface Sample extends Reading {
  t: number;
}

export interface SliceRun {
  lane: number;
  route: Route;
  cookieIndex: number;
  seconds: number;
  startedAtS: number;
  result: LoadResult;
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Least-squares slope of y over t (seconds), in units per minute. */
export function lsSlopePerMin(points: { t: number; y: number }[]): number {
  const mt = mean(points.map((p) => p.t));
  const my = mean(points.map((p) => p.y));
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
}

/** The last third of the series against its first third: their mean difference, and that per minute. */
export function thirds(points: { t: number; y: number }[]): {
  firstMb: number;
  lastMb: number;
  deltaMb: number;
  perMin: number;
} {
  const k = Math.max(1, Math.floor(points.length / 3));
  const first = points.slice(0, k);
  const last = points.slice(-k);
  const firstMb = mean(first.map((p) => p.y));
  const lastMb = mean(last.map((p) => p.y));
  const dt = mean(last.map((p) => p.t)) - mean(first.map((p) => p.t));
  return {
    firstMb: r2(firstMb),
    lastMb: r2(lastMb),
    deltaMb: r2(lastMb - firstMb),
    perMin: dt > 0 ? r2(((lastMb - firstMb) / dt) * 60) : 0,
  };
}

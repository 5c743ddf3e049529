/**
 * How the topology run sees what happened: the replicas' Prometheus metrics (scraped, the last
 * scrape of each process lifetime kept), and their JSON log lines (which replica served a request).
 */
import { waitFor } from './common.js';
import { fetchRaw } from './http.js';
import type { Replica } from './topology.js';

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

export const metricValue = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s
    .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    .reduce((n, x) => n + x.value, 0);

export interface Snapshot {
  at: number;
  refreshes: Record<string, number>;
  rss: number;
  cpu: number;
}

export async function scrape(r: Replica): Promise<Snapshot | undefined> {
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
export async function servedBy(replicas: Replica[], reqId: string): Promise<Replica> {
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
export function logLines(text: string, pred: (o: Record<string, unknown>) => boolean): Record<string, unknown>[] {
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

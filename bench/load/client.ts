/**
 * The load generator, run as its own process so its work never shares a CPU budget with the
 * servers it measures: `tsx bench/load/client.ts <job.json>`; prints the result as JSON.
 *
 * A job is a list of request templates sent round-robin, either one at a time (latency) or with
 * `concurrency` in flight for `seconds` (throughput). A template marked `sign` is signed at send
 * time the way XT.COM wants (a direct call to the API, the baseline for the gateway).
 */
import fs from 'node:fs';
import http from 'node:http';
import { signatureHeaders } from '../../src/providers/xt/sign.js';

export interface Template {
  path: string;
  headers?: Record<string, string>;
  sign?: { token: string; appKey: string; secret: string; query: [string, string][]; apiPath: string };
}
export interface Job {
  base: string;
  templates: Template[];
  mode: 'latency' | 'throughput';
  count?: number;
  concurrency?: number;
  seconds?: number;
}
export interface Result {
  n: number;
  errors: number;
  non2xx: number;
  latenciesMs?: number[];
  seconds?: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function headersFor(t: Template): Record<string, string> {
  if (!t.sign) return t.headers ?? {};
  const s = t.sign;
  return {
    ...t.headers,
    'access-token': s.token,
    ...signatureHeaders({
      method: 'GET',
      path: s.apiPath,
      query: s.query,
      appKey: s.appKey,
      secret: s.secret,
      recvWindowMs: 5000,
      timestamp: Date.now(),
      style: 'method',
    }),
  };
}

function once(base: string, t: Template): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${t.path}`, { agent, headers: headersFor(t) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

async function latency(job: Job): Promise<Result> {
  const out: Result = { n: 0, errors: 0, non2xx: 0, latenciesMs: [] };
  for (let i = 0; i < (job.count ?? 200); i++) {
    const t = job.templates[i % job.templates.length]!;
    const started = performance.now();
    try {
      const status = await once(job.base, t);
      out.latenciesMs!.push(performance.now() - started);
      if (status >= 300) out.non2xx++;
    } catch {
      out.errors++;
    }
    out.n++;
  }
  return out;
}

async function throughput(job: Job): Promise<Result> {
  const out: Result = { n: 0, errors: 0, non2xx: 0 };
  const until = performance.now() + (job.seconds ?? 3) * 1000;
  let next = 0;
  const worker = async () => {
    while (performance.now() < until) {
      const t = job.templates[next++ % job.templates.length]!;
      try {
        if ((await once(job.base, t)) >= 300) out.non2xx++;
      } catch {
        out.errors++;
      }
      out.n++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: job.concurrency ?? 16 }, worker));
  out.seconds = (performance.now() - started) / 1000;
  return out;
}

const job = JSON.parse(fs.readFileSync(process.argv[2] ?? '', 'utf8')) as Job;
const result = job.mode === 'latency' ? await latency(job) : await throughput(job);
process.stdout.write(JSON.stringify(result));
agent.destroy();

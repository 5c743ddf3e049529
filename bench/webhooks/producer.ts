/**
 * The steady producer of the webhook-throughput benchmark, an out-of-process load generator:
 * `tsx bench/webhooks/producer.ts <app> <perSecond> <seconds> <firstSubject>` with SERVICE_KEY.
 * Open loop: request k leaves at start + k / perSecond whether or not the ones before have been
 * answered (at most MAX_IN_FLIGHT at once; one that would exceed it is counted as not sent). Each
 * is `DELETE /v1/subjects/bench-subject-<n>/connections/xt` for the next seeded subject: the app
 * deletes the connection and writes its `connection.ended` event in the same step, then kicks
 * its own webhook worker, as it does for every change it makes. Prints `RESULT <json>`.
 */
const [app = '', perSecondArg = '50', secondsArg = '10', firstArg = '0'] = process.argv.slice(2);
const perSecond = Number(perSecondArg);
const total = Math.round(perSecond * Number(secondsArg));
const first = Number(firstArg);
const MAX_IN_FLIGHT = 200;
const headers = { authorization: `Bearer ${process.env.SERVICE_KEY ?? ''}` };

const statuses: Record<string, number> = {};
let inFlight = 0;
let notSent = 0;
let maxLateMs = 0;
const pending: Promise<void>[] = [];
const start = performance.now();

async function send(n: number): Promise<void> {
  inFlight++;
  try {
    const res = await fetch(`${app}/v1/subjects/bench-subject-${n}/connections/xt`, { method: 'DELETE', headers });
    await res.arrayBuffer();
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  } catch {
    statuses.error = (statuses.error ?? 0) + 1;
  } finally {
    inFlight--;
  }
}

for (let k = 0; k < total; k++) {
  const due = start + (k * 1000) / perSecond;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  maxLateMs = Math.max(maxLateMs, performance.now() - due);
  if (inFlight >= MAX_IN_FLIGHT) notSent++;
  else pending.push(send(first + k));
}
const sentFor = (performance.now() - start) / 1000;
await Promise.all(pending);
const result = {
  total,
  notSent,
  statuses,
  achievedPerSecond: Math.round((total - notSent) / sentFor),
  maxLateMs: Math.round(maxLateMs),
};
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);

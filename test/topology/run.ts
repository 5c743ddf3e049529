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
 *
 * The parts: common.ts (settings, assertions), procs.ts (the processes), topology.ts (bringing it
 * up), probes.ts (0 and 2), browser.ts (1), underLoad.ts (3; load.ts is the load generator),
 * requests.ts and refreshes.ts (the load's figures and assertions), report.ts (topology.md).
 */
import fs from 'node:fs';
import { TMP, WATCHDOG_MS, failures, say } from './common.js';
import { chromiumAcrossReplicas, closeBrowser } from './browser.js';
import { scrape } from './observe.js';
import { checkBundle, checkTrustProxy } from './probes.js';
import { killAll, procs } from './procs.js';
import { checkRefreshes, countRefreshes } from './refreshes.js';
import { toolVersions, writeReport } from './report.js';
import { checkRequests, classify, sayFirstFailed } from './requests.js';
import { bringUp } from './topology.js';
import { runUnderLoad } from './underLoad.js';

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    say(`the run took longer than ${WATCHDOG_MS / 60_000} minutes: giving up`);
    killAll();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  say(`work directory ${TMP}`);
  const versions = toolVersions();

  const t = await bringUp();
  const scraper = setInterval(() => void Promise.all(t.replicas.map(scrape)), 1000);
  await checkBundle(t); // 0. the bundle's chunks, on each replica directly
  const browserFacts = await chromiumAcrossReplicas(t); // 1. connect on one replica, refresh and disconnect on the other
  const trustFacts = await checkTrustProxy(t); // 2. TRUST_PROXY: the client's address, per client
  const run = await runUnderLoad(t); // 3. load, with a replica restart and a Redis restart
  clearInterval(scraper);
  await Promise.all(t.replicas.map(scrape));
  const statsAfter = await t.stats();

  const q = classify(run);
  checkRequests(run, q);
  const refreshes = countRefreshes(t.replicas, run.statsBeforeLoad, statsAfter);
  checkRefreshes(refreshes);
  writeReport({ t, versions, browserFacts, trustFacts, run, q, refreshes });
  if (failures.length) sayFirstFailed(run, q);
}

main()
  .then(async () => {
    await closeBrowser();
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
    await closeBrowser();
    killAll();
    say(`logs kept in ${TMP}/logs`);
    process.exit(1);
  });

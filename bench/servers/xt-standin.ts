/**
 * The XT.COM stand-in as its own process, for benchmarks: `tsx bench/servers/xt-standin.ts <port>`.
 * Prints `READY <url>` once it listens; stops on SIGTERM.
 */
import { startXtStandIn } from '../../standins/xt.js';

const port = Number(process.argv[2] ?? 0);
// XT.COM's 1000 calls a minute per IP is lifted here (and XT_API_IP_LIMIT in the app), so throughput can be measured.
const xt = await startXtStandIn({
  port,
  clientId: 'bench-client',
  clientSecret: process.env.XT_CLIENT_SECRET ?? 'bench-secret',
  accessTtlSec: 3600,
  ipLimitPerMin: 10_000_000,
});
process.stdout.write(`READY ${xt.url}\n`);
process.once('SIGTERM', () => void xt.close().then(() => process.exit(0)));

/**
 * The XT.COM stand-in as its own process, for benchmarks: `tsx bench/servers/xt-standin.ts <port>`.
 * Prints `READY <url>` once it listens; stops on SIGTERM.
 */
import { startXtStandIn } from '../../standins/xt.js';

const port = Number(process.argv[2] ?? 0);
const xt = await startXtStandIn({ port, clientId: 'bench-client', clientSecret: process.env.XT_CLIENT_SECRET ?? 'bench-secret', accessTtlSec: 3600 });
process.stdout.write(`READY ${xt.url}\n`);
process.once('SIGTERM', () => void xt.close().then(() => process.exit(0)));

/**
 * The OIDC stand-in (the real oidc-provider) as its own process, for benchmarks:
 * `tsx bench/servers/oidc-standin.ts <port> <redirectUri>…`. Prints `READY <issuer>`.
 */
import { startOidcStandIn } from '../../standins/oidc.js';

const [port, ...redirectUris] = process.argv.slice(2);
const oidc = await startOidcStandIn({ port: Number(port ?? 0), redirectUris, accessTtlSec: 3600 });
process.stdout.write(`READY ${oidc.issuer}\n`);
process.once('SIGTERM', () => void oidc.close().then(() => process.exit(0)));

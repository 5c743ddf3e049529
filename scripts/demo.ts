/**
 * `npm run demo`: the app plus the bundled stand-ins, with zero configuration:
 *  - XT.COM on 127.0.0.1:4000 (the XT.COM dialect);
 *  - Tencent Cloud CIAM on 127.0.0.1:4001 (standard OpenID Connect, the real oidc-provider).
 * Sessions go to ./data (SQLite), like the real thing. Access tokens last two minutes
 * so that automatic refresh can be watched on the account page.
 * Its configuration is demoEnv.ts: PORT, HOST (default 127.0.0.1, since the demo's built-in secrets
 * are public), PUBLIC_URL and the integration settings come from the environment, the rest is fixed
 * (NODE_ENV stays development: the demo's built-in secrets are refused in production).
 */
import { OIDC_CLIENTS, startOidcStandIn } from '../standins/oidc.js';
import { startXtStandIn } from '../standins/xt.js';
import { configOrExit, start } from '../src/server.js';
import { demoEnv } from './demoEnv.js';

const XT_PORT = 4000;
const OIDC_PORT = 4001;

function listenFailed(what: string, port: number) {
  return (err: Error): never => {
    process.stderr.write(`The ${what} stand-in could not listen on 127.0.0.1:${port}: ${err.message}\n`);
    process.exit(1);
  };
}

async function main(): Promise<void> {
  // The CIAM stand-in must know our callback and logout return addresses, as the CIAM console would.
  const publicUrl = new URL(process.env.PUBLIC_URL ?? `http://localhost:${process.env.PORT ?? 3000}`);
  const xt = await startXtStandIn({
    port: XT_PORT,
    accessTtlSec: 120,
    refreshTtlSec: 7 * 86_400,
    rotateRefreshTokens: true,
  }).catch(listenFailed('XT.COM', XT_PORT));
  const ciam = await startOidcStandIn({
    port: OIDC_PORT,
    accessTtlSec: 120,
    redirectUris: [new URL('/auth/oidc/callback', publicUrl).toString()],
    postLogoutRedirectUris: [new URL('/', publicUrl).toString()],
  }).catch(listenFailed('Tencent Cloud CIAM', OIDC_PORT));
  const client = OIDC_CLIENTS.basic;
  const config = configOrExit(
    demoEnv({ xtUrl: xt.url, ciamIssuer: ciam.issuer, publicOrigin: publicUrl.origin, env: process.env }),
  );
  const app = await start(config).catch((err: Error) => {
    process.stderr.write(`xt-connect could not start: ${err.message}\n`);
    process.exit(1);
  });
  process.stdout.write(
    `\n  xt-connect demo is running.\n\n  Open ${config.server.publicUrl.origin}/ and click "Connect XT.COM" or "Connect Tencent Cloud CIAM (stand-in)".\n` +
      `  (XT.COM stand-in: ${xt.url}, client "${xt.options.clientId}", access tokens last ${xt.options.accessTtlSec} s)\n` +
      `  (Tencent Cloud CIAM stand-in: ${ciam.issuer}, client "${client.clientId}", signed in as ${ciam.account.name}, access tokens last 120 s)\n\n  Press Ctrl+C to stop.\n\n`,
  );
  const stop = async () => {
    await app.stop();
    await ciam.close();
    await xt.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

void main();

/**
 * The demo's pieces, started together: the XT.COM and Tencent Cloud CIAM stand-ins and the app
 * configured for them (demoEnv.ts). `npm run demo` (demo.ts) and `npm run example` (example.ts)
 * both start through here, so the example runs against exactly the demo.
 *
 * The stand-ins' access tokens last two minutes, so automatic refresh can be watched on the
 * account page; sessions go to ./data (SQLite), like the real thing.
 */
import { OIDC_CLIENTS, startOidcStandIn } from '../standins/oidc.js';
import { startXtStandIn } from '../standins/xt.js';
import type { Config } from '../src/config/index.js';
import { configOrExit, start } from '../src/server.js';
import { demoEnv } from './demoEnv.js';

export interface Demo {
  config: Config;
  /** What the demo prints at start: where to go, and what the stand-ins are. */
  banner: string;
  stop(): Promise<void>;
}

function listenFailed(what: string, port: number) {
  return (err: Error): never => {
    process.stderr.write(`The ${what} stand-in could not listen on 127.0.0.1:${port}: ${err.message}\n`);
    process.exit(1);
  };
}

/** Starts the stand-ins on `ports` and the app on the environment's PORT (default 3000); exits with a message when one cannot start. */
export async function startDemo(env: NodeJS.ProcessEnv, ports = { xt: 4000, oidc: 4001 }): Promise<Demo> {
  // The CIAM stand-in must know our callback and logout return addresses, as the CIAM console would.
  const publicUrl = new URL(env.PUBLIC_URL ?? `http://localhost:${env.PORT ?? 3000}`);
  const xt = await startXtStandIn({
    port: ports.xt,
    accessTtlSec: 120,
    refreshTtlSec: 7 * 86_400,
    rotateRefreshTokens: true,
  }).catch(listenFailed('XT.COM', ports.xt));
  const ciam = await startOidcStandIn({
    port: ports.oidc,
    accessTtlSec: 120,
    redirectUris: [new URL('/auth/oidc/callback', publicUrl).toString()],
    postLogoutRedirectUris: [new URL('/', publicUrl).toString()],
  }).catch(listenFailed('Tencent Cloud CIAM', ports.oidc));
  const config = configOrExit(demoEnv({ xtUrl: xt.url, ciamIssuer: ciam.issuer, publicOrigin: publicUrl.origin, env }));
  const app = await start(config).catch((err: Error) => {
    process.stderr.write(`xt-connect could not start: ${err.message}\n`);
    process.exit(1);
  });
  const banner =
    `  (XT.COM stand-in: ${xt.url}, client "${xt.options.clientId}", access tokens last ${xt.options.accessTtlSec} s)\n` +
    `  (Tencent Cloud CIAM stand-in: ${ciam.issuer}, client "${OIDC_CLIENTS.basic.clientId}", signed in as ${ciam.account.name}, access tokens last 120 s)\n`;
  return {
    config,
    banner,
    stop: async () => {
      await app.stop();
      await ciam.close();
      await xt.close();
    },
  };
}

/** Stops `stop` on Ctrl+C or SIGTERM, then exits. */
export function stopOnSignals(stop: () => Promise<void>): void {
  const once = () => void stop().then(() => process.exit(0));
  process.once('SIGINT', once);
  process.once('SIGTERM', once);
}

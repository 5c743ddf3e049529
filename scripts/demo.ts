/**
 * `npm run demo`: the app plus the bundled XT.COM stand-in, with zero configuration.
 * Sessions go to ./data (SQLite), like the real thing. Access tokens last two minutes
 * so that automatic refresh can be watched on the account page.
 */
import { startXtStandIn } from '../standins/xt.js';
import { configOrExit, start } from '../src/server.js';

const XT_PORT = 4000;

async function main(): Promise<void> {
  const xt = await startXtStandIn({ port: XT_PORT, accessTtlSec: 120, refreshTtlSec: 7 * 86_400, rotateRefreshTokens: true }).catch((err: Error) => {
    process.stderr.write(`The XT.COM stand-in could not listen on 127.0.0.1:${XT_PORT}: ${err.message}\n`);
    process.exit(1);
  });
  const config = configOrExit({
    XT_CONNECT_MODE: 'demo',
    XT_AUTHORIZE_URL: `${xt.url}/{lang}/accounts/oauth2`,
    XT_TOKEN_URL: `${xt.url}/public/uaa/oauth2/token`,
    XT_API_URL: xt.url,
    ...process.env,
  });
  const app = await start(config).catch((err: Error) => {
    process.stderr.write(`xt-connect could not start: ${err.message}\n`);
    process.exit(1);
  });
  process.stdout.write(
    `\n  xt-connect demo is running.\n\n  Open ${config.publicUrl.origin}/ and click "Connect XT.COM".\n` +
      `  (XT.COM stand-in: ${xt.url}, client "${xt.options.clientId}", access tokens last ${xt.options.accessTtlSec} s)\n\n  Press Ctrl+C to stop.\n\n`,
  );
  const stop = async () => {
    await app.stop();
    await xt.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();

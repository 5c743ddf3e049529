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
import { startDemo, stopOnSignals } from './demoStart.js';

async function main(): Promise<void> {
  const demo = await startDemo(process.env);
  process.stdout.write(
    `\n  xt-connect demo is running.\n\n  Open ${demo.config.server.publicUrl.origin}/ and click "Connect XT.COM" or "Connect Tencent Cloud CIAM (stand-in)".\n` +
      `${demo.banner}\n  Press Ctrl+C to stop.\n\n`,
  );
  stopOnSignals(() => demo.stop());
}

void main();

/**
 * `npm run example`: the institution example (examples/institution) against xt-connect's demo, with
 * zero configuration. Starts the demo (the stand-ins and the app, as `npm run demo` does) with the
 * integration settings the example needs, then the example's server as its own process, the way an
 * institution's backend runs beside xt-connect:
 *  - the example on http://localhost:5000 (EXAMPLE_PORT), xt-connect on http://localhost:3000 (PORT);
 *  - a link secret, a service key and a webhook secret shared by the two (public demo values);
 *  - EMBED_ORIGINS holds the example's origin, so its page can use the drop-in button;
 *  - WEBHOOK_URL is the example's /webhooks.
 * The client package is built first (npm's preexample script).
 */
import { spawn } from 'node:child_process';
import { startDemo, stopOnSignals } from './demoStart.js';

// Public demo values, like the demo's other built-in secrets: never use them anywhere real.
const SHARED = {
  LINK_SECRET: 'example-link-secret-at-least-32-characters',
  SERVICE_KEY: 'example-service-key-at-least-32-characters',
  WEBHOOK_SECRET: 'whsec_ZXhhbXBsZS13ZWJob29rLXNlY3JldC0zMmI=',
};

async function main(): Promise<void> {
  const port = process.env.PORT ?? '3000';
  const examplePort = process.env.EXAMPLE_PORT ?? '5000';
  const exampleOrigin = `http://localhost:${examplePort}`;
  const demo = await startDemo(
    {
      ...process.env,
      PORT: port,
      LINK_SECRET: SHARED.LINK_SECRET,
      SERVICE_API_KEYS: `example:${SHARED.SERVICE_KEY}`,
      WEBHOOK_URL: `http://127.0.0.1:${examplePort}/webhooks`,
      WEBHOOK_SECRET: SHARED.WEBHOOK_SECRET,
      EMBED_ORIGINS: exampleOrigin,
    },
    { xt: Number(process.env.STANDIN_XT_PORT ?? 4000), oidc: Number(process.env.STANDIN_OIDC_PORT ?? 4001) },
  );
  const child = spawn(process.execPath, ['examples/institution/server.mjs'], {
    stdio: 'inherit',
    env: {
      ...process.env,
      ...SHARED,
      XT_CONNECT_URL: demo.config.server.publicUrl.origin,
      EXAMPLE_PORT: examplePort,
      EXAMPLE_ORIGIN: exampleOrigin,
    },
  });
  process.stdout.write(
    `\n  The institution example is running.\n\n  Open ${exampleOrigin}/ and click "Connect XT.COM".\n` +
      `  (xt-connect: ${demo.config.server.publicUrl.origin})\n${demo.banner}\n  Press Ctrl+C to stop.\n\n`,
  );
  const stop = async () => {
    child.kill('SIGTERM');
    await demo.stop();
  };
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) void demo.stop().then(() => process.exit(code));
  });
  stopOnSignals(stop);
}

void main();

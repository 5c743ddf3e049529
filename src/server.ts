/**
 * Entry point: read the configuration, build the app, listen, and shut down gracefully.
 */
import type { Server, ServerResponse } from 'node:http';
import { type AppOptions, createApp } from './app.js';
import { type Config, ConfigError, type Env, loadConfig } from './config.js';

export interface Running {
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/**
 * Connection draining for a graceful stop: once `begin()` is called, every response carries
 * `Connection: close`, so a kept-alive connection is answered and then closed (Node closes the
 * socket after a response that says so), and idle ones are closed at once.
 */
export function drainable(server: Server): { begin(): void; readonly draining: boolean } {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  const closeWhenDone = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  // Prepended, so the header is set before the app's own handler can send anything.
  server.prependListener('request', (_req, res) => {
    if (draining) closeWhenDone(res);
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      // A response that had already started with keep-alive leaves an idle socket: close it too.
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
  });
  return {
    begin() {
      draining = true;
      for (const res of inFlight) closeWhenDone(res);
      server.closeIdleConnections();
    },
    get draining() {
      return draining;
    },
  };
}

export async function start(config: Config, host = '0.0.0.0', opts: AppOptions = {}): Promise<Running> {
  const { app, ctx, close } = await createApp(config, opts);
  const server = app.listen(config.port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  ctx.logger.info({ port, store: ctx.stores.kind, providers: [...ctx.providers.keys()], publicUrl: config.publicUrl.origin }, 'xt-connect listening');

  const drain = drainable(server);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      ctx.logger.info('shutting down');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        drain.begin();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await close();
      ctx.logger.flush?.();
    })());
  return { server, url: `http://127.0.0.1:${port}`, stop };
}

/** Loads the configuration or exits with every problem listed. */
export function configOrExit(env: Env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`xt-connect cannot start.\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Runs the server from the environment until SIGTERM or SIGINT (`node dist/src/server.js`, `npm start`). */
export async function main(): Promise<void> {
  const config = configOrExit(process.env);
  let running: Running;
  try {
    running = await start(config);
  } catch (err) {
    process.stderr.write(`xt-connect cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) void main();

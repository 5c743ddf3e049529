/**
 * Entry point: read the configuration, build the app, listen, and shut down gracefully.
 */
import { type Server, type ServerResponse, createServer } from 'node:http';
import type { AppContext } from './context.js';
import { type AppOptions, createApp } from './app.js';
import { type Config, ConfigError, type Env, loadConfig } from './config/index.js';
import { ENV_FILE_HINT, unloadedEnvFile } from './shared/envFile.js';
import { internalListener } from './routes/internal.js';

export interface Running {
  server: Server;
  url: string;
  /** The metrics listener's address, when METRICS_PORT is set. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

/**
 * Prometheus metrics and the detailed readiness on their own listener (METRICS_PORT), so the
 * public port never serves them and a network policy can keep this one internal.
 */
async function listenMetrics(ctx: AppContext, where: { port: number; host: string }): Promise<Server> {
  const server = createServer(internalListener(ctx));
  server.listen(where.port, where.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return server;
}

/**
 * Connection draining for a graceful stop. Once `begin()` is called every response carries
 * `Connection: close`, so a kept-alive connection is answered and then closed (Node closes the
 * socket after a response that says so). Idle kept-alive sockets are NOT closed at that moment:
 * a request may already be on its way on one (a client cannot know we are stopping), and closing
 * it would reset that request. They are closed when the listener closes, after the drain window.
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
    res.once('close', () => inFlight.delete(res));
  });
  return {
    begin() {
      draining = true;
      for (const res of inFlight) closeWhenDone(res);
    },
    get draining() {
      return draining;
    },
  };
}

/** How long requests in flight may take to finish once the listener has closed. */
const IN_FLIGHT_GRACE_MS = 20_000;

/**
 * The stop sequence: readiness fails at once and every answer closes its connection, while the
 * app keeps serving for `drainMs` (so a load balancer notices and kept-alive clients move on);
 * then the listener closes, requests in flight get IN_FLIGHT_GRACE_MS to finish, and the stores
 * close and the logs are flushed.
 */
async function stopGracefully(server: Server, drain: ReturnType<typeof drainable>, drainMs: number): Promise<void> {
  drain.begin();
  if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), IN_FLIGHT_GRACE_MS).unref();
  });
}

export async function start(config: Config, host = config.server.host, opts: AppOptions = {}): Promise<Running> {
  const { app, ctx, close } = await createApp(config, opts);
  const server = app.listen(config.server.port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
  const metricsServer = config.server.metrics ? await listenMetrics(ctx, config.server.metrics) : undefined;
  const metricsAddr = metricsServer?.address();
  const metricsPort = typeof metricsAddr === 'object' && metricsAddr ? metricsAddr.port : undefined;
  ctx.logger.info(
    {
      host,
      port,
      metricsPort,
      store: ctx.stores.kind,
      providers: [...ctx.providers.keys()],
      publicUrl: config.server.publicUrl.origin,
    },
    'xt-connect listening',
  );

  const drain = drainable(server);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      ctx.logger.info({ drainMs: config.server.shutdownDrainMs }, 'shutting down: draining connections');
      ctx.lifecycle.draining = true;
      await stopGracefully(server, drain, config.server.shutdownDrainMs);
      await close();
      await ctx.tracing?.shutdown(); // the spans still in the batch are sent
      metricsServer?.closeAllConnections(); // a scraper's kept-alive connection must not hold the exit
      await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
      ctx.logger.info('stopped');
      ctx.logger.flush?.();
    })());
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: metricsPort === undefined ? undefined : `http://127.0.0.1:${metricsPort}`,
    stop,
  };
}

/**
 * Loads the configuration or exits with every problem listed. With `envFileCheck`, a `.env` in the
 * working folder that was not loaded is named: in the error, with how to load it, or else as a warning.
 */
export function configOrExit(env: Env, envFileCheck = false): Config {
  const unloaded = envFileCheck ? unloadedEnvFile(env) : undefined;
  try {
    const config = loadConfig(env);
    if (unloaded)
      config.warnings.push(`${unloaded} was not loaded (this process reads the environment only): ${ENV_FILE_HINT}`);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      const hint = unloaded ? `\nA .env file is here (${unloaded}) but was not loaded: ${ENV_FILE_HINT}.` : '';
      process.stderr.write(`xt-connect cannot start.\n${err.message}${hint}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Runs the server from the environment until SIGTERM or SIGINT (`node dist/server.js`, `npm start`). */
export async function main(): Promise<void> {
  const config = configOrExit(process.env, true);
  let running: Running;
  try {
    running = await start(config);
  } catch (err) {
    process.stderr.write(`xt-connect cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let signalled = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      // A second signal means "now": exit without waiting for the drain.
      if (signalled) process.exit(1);
      signalled = true;
      running.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) void main();

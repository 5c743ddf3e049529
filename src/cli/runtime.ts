/**
 * What a command needs from the server's side: the same configuration (loadConfig on the same
 * environment), and the same context (context.ts buildContext: stores, sealer, subjects,
 * connections, providers) built from it. Nothing is started: no listener, no keeper, no webhook
 * worker, so a command changes what the running servers share (the store) and nothing else.
 *
 * The log goes to stderr (stdout is the command's result), at `warn` unless LOG_LEVEL says
 * otherwise; the audit lines (written at info whatever the level) go there too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { type Config, ConfigError, loadConfig } from '../config/index.js';
import { type AppContext, buildContext } from '../context.js';
import { unloadedEnvFile } from '../shared/envFile.js';
import { SQLITE_FILE } from '../store/sqlite/db.js';
import { type Io, EXIT_FAILURE } from './command.js';

/** How to run a command with a `.env` loaded, said when one was found but not loaded. */
export const CLI_ENV_FILE_HINT = 'run node --env-file=.env dist/cli.js …';

/** The configuration; on a ConfigError, the problems are printed (as a failed start prints them) and `exitCode` thrown. */
export function configFor(io: Io): Config {
  const unloaded = unloadedEnvFile(io.env);
  try {
    const config = loadConfig(io.env);
    if (unloaded)
      io.err(`note: ${unloaded} was not loaded (this command reads the environment only): ${CLI_ENV_FILE_HINT}`);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(scrub(err.message, io.env));
    if (unloaded) io.err(`A .env file is here (${unloaded}) but was not loaded: ${CLI_ENV_FILE_HINT}.`);
    throw new CommandFailed();
  }
}

/** A failure already reported to the operator: exit 1 with nothing more said. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  readonly exitCode = EXIT_FAILURE;
}

/**
 * The servers' store, or the reason a command would not reach it: a command never creates an empty
 * store (a mistyped DATA_DIR would otherwise list nothing and succeed), and a memory store is
 * this process's own.
 */
function storeProblem(config: Config): string | undefined {
  if (config.session.store === 'memory')
    return 'SESSION_STORE=memory keeps the sessions in the server process: a command cannot reach them (use sqlite or redis)';
  const file = path.join(config.server.dataDir, SQLITE_FILE);
  if (config.session.store === 'sqlite' && !fs.existsSync(file))
    return `no session database at ${file}: set DATA_DIR to the servers' data directory (a command never creates one)`;
  return undefined;
}

/** Runs `work` with the server's context, then closes what it opened (the stores, the providers' timers). */
export async function withContext<T>(io: Io, work: (ctx: AppContext) => Promise<T>): Promise<T> {
  const loaded = configFor(io);
  const problem = storeProblem(loaded);
  if (problem) {
    io.err(problem);
    throw new CommandFailed();
  }
  const config: Config = {
    ...loaded,
    server: { ...loaded.server, logLevel: io.env.LOG_LEVEL ? loaded.server.logLevel : 'warn' },
    warnings: [], // check-config prints them; every other command keeps stderr for what it did
  };
  const ctx = await buildContext(config, { logDestination: io.log ?? pino.destination({ dest: 2, sync: true }) });
  try {
    return await work(ctx);
  } finally {
    for (const p of ctx.providers.values()) p.close?.();
    ctx.sessionGrace.stop();
    ctx.xtApi?.close();
    await ctx.stores.close();
  }
}

/**
 * Every value of the environment that may be a secret (by its name), each comma-separated part
 * too: an error message is cleaned of them before it is printed, whatever the command.
 */
export function envSecrets(env: Io['env']): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value || !/SECRET|KEY|PASSWORD|TOKEN|_URL$|_NODES$|SENTINELS$/.test(name)) continue;
    const parts = value.split(',').map((p) => p.trim());
    for (const part of [value, ...parts, ...parts.map((p) => p.split(':').pop() ?? ''), ...parts.map(passwordOf)])
      if (part.trim().length >= 8) out.push(part.trim());
  }
  return out.sort((a, b) => b.length - a.length);
}

/** A URL's password (`redis://:password@host`), decoded; '' when there is none. */
function passwordOf(value: string): string {
  try {
    return decodeURIComponent(new URL(value).password);
  } catch {
    return '';
  }
}

/** `text` with every secret of the environment replaced by `[redacted]`. */
export function scrub(text: string, env: Io['env']): string {
  let clean = text;
  for (const s of envSecrets(env)) clean = clean.split(s).join('[redacted]');
  return clean;
}

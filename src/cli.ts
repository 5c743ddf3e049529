#!/usr/bin/env node
/**
 * The operator CLI, `xt-connect` (`node dist/cli.js` in the image): commands that read the same
 * configuration as the server, from the same environment, and act on the store the servers share
 * (cli/runtime.ts). Each command lives in cli/ (cli/command.ts: what one is made of).
 *
 * Exit codes: 0 done, 1 a failure or a problem found, 2 a usage error.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkConfig } from './cli/checkConfig.js';
import {
  type Command,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  helpOf,
  type Io,
  parseFor,
  UsageError,
} from './cli/command.js';
import { connectionCommands } from './cli/connections.js';
import { keyCommands } from './cli/keys.js';
import { CommandFailed, scrub } from './cli/runtime.js';
import { subjectCommands } from './cli/subject.js';
import { webhookCommands } from './cli/webhooks.js';

export const COMMANDS: readonly Command[] = [
  checkConfig,
  ...connectionCommands,
  ...webhookCommands,
  ...subjectCommands,
  ...keyCommands,
];

function overview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: xt-connect <command> [options]   (xt-connect <command> --help for one)',
    '',
    "Commands (each reads the server's configuration from the environment):",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Exit codes: 0 done, 1 a failure or a problem found, 2 a usage error.',
    '',
  ].join('\n');
}

/** The command `argv` names (by its first one or two words) and the rest of argv. */
function find(argv: string[]): { cmd?: Command; rest: string[]; group: Command[] } {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const cmd = COMMANDS.find((c) => c.name === name);
    if (cmd) return { cmd, rest: argv.slice(words), group: [] };
  }
  return { rest: argv, group: COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `)) };
}

/** No command named: the overview (of a group when its first word was given): asked for, 0; else 2. */
function noCommand(argv: string[], group: Command[], io: Io): number {
  const asked = argv.includes('--help') || argv.includes('-h') || argv[0] === 'help';
  if (group.length > 0 || argv.length === 0 || asked) {
    const text = overview(group.length > 0 ? group : COMMANDS);
    if (asked) io.out(text);
    else io.err(text);
    return asked ? EXIT_OK : EXIT_USAGE;
  }
  io.err(`xt-connect: unknown command "${argv[0]}"\n\n${overview(COMMANDS)}`);
  return EXIT_USAGE;
}

/** Runs the command `argv` names; resolves to the exit code. Never throws. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const { cmd, rest, group } = find(argv);
  if (!cmd) return noCommand(argv, group, io);
  try {
    const { values, args, help } = parseFor(cmd, rest);
    if (help) {
      io.out(helpOf(cmd));
      return EXIT_OK;
    }
    return await cmd.run(values, args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`xt-connect ${cmd.name}: ${err.message}\nUsage: xt-connect ${cmd.name} ${cmd.usage}`);
      return EXIT_USAGE;
    }
    if (err instanceof CommandFailed) return err.exitCode;
    io.err(`xt-connect ${cmd.name}: failed: ${scrub((err as Error)?.message ?? String(err), io.env)}`);
    return EXIT_FAILURE;
  }
}

export async function main(): Promise<void> {
  const io: Io = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    tty: process.stderr.isTTY ? process.stderr : undefined,
  };
  process.exit(await runCli(process.argv.slice(2), io));
}

// Run when this file is the program (`node dist/cli.js`, or the `xt-connect` bin: a symlink to it).
const entry = process.argv[1] ? fs.realpathSync(process.argv[1]) : '';
if (entry === fileURLToPath(import.meta.url)) void main();

/**
 * What every operator command is made of (the CLI's entry, src/cli.ts, dispatches to them): its
 * words, its options for `node:util` parseArgs, its help, and its run. Exit codes: 0 done, 1 a
 * failure or a problem found, 2 a usage error (a bad option or argument, with the usage printed).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Env } from '../config/index.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A bad option or argument: exit 2 with the message and the command's usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Where a command writes: stdout (its result), stderr (problems and notes), and the environment it reads. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: Env;
  /** stderr when it is a terminal (a progress bar is drawn there), else undefined. */
  tty?: NodeJS.WriteStream;
  /** Where the log and the audit lines go: stderr (fd 2) unless given (a test in the same process). */
  log?: { write(line: string): unknown };
}

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Command {
  /** The words that name it: `connections list`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Its arguments and options after the name: `<sub> [provider]`. */
  usage: string;
  /** What it does, its output and exit codes, for `--help`. */
  help: string;
  options: Options;
  /** How many positional arguments it takes. */
  args: [min: number, max: number];
  run(values: Values, args: string[], io: Io): Promise<number>;
}

/** The `--json` option, shared by the commands that list data. */
export const JSON_OPTION: Options = { json: { type: 'boolean' } };

/** Parses `argv` for `cmd` (strict: an unknown option is a usage error); `help` when -h/--help was given. */
export function parseFor(cmd: Command, argv: string[]): { values: Values; args: string[]; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { help, ...values } = parsed.values as Values;
  if (help) return { values, args: parsed.positionals, help: true };
  const [min, max] = cmd.args;
  if (parsed.positionals.length < min) throw new UsageError('missing argument');
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument: ${parsed.positionals[max]}`);
  return { values, args: parsed.positionals, help: false };
}

/** The text of `xt-connect <name> --help`. */
export function helpOf(cmd: Command): string {
  return `Usage: xt-connect ${cmd.name} ${cmd.usage}\n\n${cmd.summary}\n\n${cmd.help.trim()}\n`;
}

/** A value given as one of `allowed`, else a usage error naming them. */
export function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new UsageError(`${what} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** Rows as aligned columns for people: each column as wide as its widest cell. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * `xt-connect keys rotate`: every stored connection sealed again under the newest key, and moved
 * to the newest SUBJECT_KEYS key (session/keyRotation.ts), with a progress bar on a terminal
 * (cli-progress, on stderr) and a line at every tenth otherwise.
 */
import cliProgress from 'cli-progress';
import type { AppContext } from '../context.js';
import { type KeyRotationDeps, type RotationCounts, rotateKeys, storedRecords } from '../session/keyRotation.js';
import { type Command, EXIT_FAILURE, EXIT_OK, type Io } from './command.js';
import { withContext } from './runtime.js';

const rotationDeps = (ctx: AppContext): KeyRotationDeps => ({
  store: ctx.stores.authState,
  connections: ctx.connections,
  subjects: ctx.subjects,
  bindings: ctx.bindings,
  sealer: ctx.sealer,
  providerIds: () => ctx.providers.keys(),
});

/** How a run shows its progress: `update` after each record, `stop` at the end. */
interface Progress {
  update(counts: Readonly<RotationCounts>): void;
  stop(): void;
}

/** A bar redrawn in place, on a terminal. */
function bar(stream: NodeJS.WriteStream, total: number): Progress {
  const b = new cliProgress.SingleBar(
    {
      stream,
      format: 'keys rotate [{bar}] {percentage}% | {value}/{total} records | {resealed} resealed, {moved} moved',
      etaBuffer: 200,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  b.start(Math.max(total, 1), 0, { resealed: 0, moved: 0 });
  return {
    update: (c) => {
      if (c.read > b.getTotal()) b.setTotal(c.read);
      b.update(c.read, { resealed: c.resealed, moved: c.moved });
    },
    stop: () => b.stop(),
  };
}

/** A line each time another tenth of the records has been read: for a log, not a terminal. */
function lines(io: Io, total: number): Progress {
  let shown = 0;
  return {
    update: (c) => {
      const tenth = total > 0 ? Math.min(10, Math.floor((c.read * 10) / total)) : 0;
      if (tenth <= shown) return;
      shown = tenth;
      io.err(
        `keys rotate: ${tenth * 10}% (${c.read} of about ${total} records; ${c.resealed} resealed, ${c.moved} moved)`,
      );
    },
    stop: () => undefined,
  };
}

function summary(c: RotationCounts): string {
  return [
    `read ${c.read} record${c.read === 1 ? '' : 's'}: ${c.resealed} resealed under the newest key`,
    `${c.moved} moved to the newest SUBJECT_KEYS key`,
    `${c.current} already current`,
    `${c.ended} ended (left to run out)`,
    `${c.unreadable} unreadable`,
    `${c.busy} busy`,
    `${c.gone} gone (ended meanwhile)`,
  ].join(', ');
}

const rotate: Command = {
  name: 'keys rotate',
  summary: 'Seals every stored connection again under the newest key (and the newest SUBJECT_KEYS key).',
  usage: '',
  help: `
Run it after the newest TOKEN_ENCRYPTION_KEYS (or SUBJECT_KEYS) key is first on every server, with
the servers' own keys, before an older key is dropped (docs/operations.md, Rotating secrets).
Each record is rewritten under its refresh lock with a compare-and-set, so it is safe while the
servers run. It is resumable: run again, it rewrites only what is still under an older key.
Sessions, login transactions and webhook events are not rewritten: they are sealed again as they
are written, and end by their own lifetimes.

Output: a progress bar on stderr when it is a terminal, else a line at every 10%; then one line
on stdout: how many records were read, resealed, moved, already current, ended (left to run out),
unreadable (no key opens them: they already read as not connected) and busy (its refresh lock stayed
held past the longest hold).

Exit codes: 0 every readable record is under the newest key; 1 some are busy or unreadable (run
again, or see the log), or the store could not be used; 2 usage error.`,
  options: {},
  args: [0, 0],
  async run(_values, _args, io) {
    return withContext(io, async (ctx) => {
      const deps = rotationDeps(ctx);
      const total = await storedRecords(deps);
      const progress = io.tty ? bar(io.tty, total) : lines(io, total);
      let counts: RotationCounts;
      try {
        counts = await rotateKeys(deps, (c) => progress.update(c));
      } finally {
        progress.stop();
      }
      io.out(summary(counts));
      if (counts.busy > 0) io.err(`${counts.busy} record(s) were held by a refresh: run keys rotate again`);
      if (counts.unreadable > 0)
        io.err(`${counts.unreadable} record(s) open under no configured key: they read as not connected`);
      return counts.busy + counts.unreadable > 0 ? EXIT_FAILURE : EXIT_OK;
    });
  },
};

export const keyCommands: Command[] = [rotate];

/**
 * Who holds a SQLite lock, so a lock left by a process that no longer exists can be taken over at
 * once instead of when its lease runs out. SQLite is shared only by processes of one machine, so
 * the holder is named by what Linux can check: the boot id, the PID namespace, the PID, and the
 * process's start time (which tells a reused PID from the original holder).
 *
 * The verdict errs towards "alive": a holder on another boot or PID namespace (another container),
 * an unreadable /proc, a non-Linux system or a lock written without this information all count as
 * alive, and then only the short lease frees the lock. Taking over a live holder's lock would
 * break single-flight; waiting for a lease costs at most its length.
 */
import fs from 'node:fs';

interface ProcStat {
  state: string;
  start: string;
}

/** The state (field 3) and start time (field 22, clock ticks since boot) from /proc/<pid>/stat. */
function procStat(pid: number | 'self'): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const start = fields[19];
    return state && start && /^\d+$/.test(start) ? { state, start } : undefined;
  } catch {
    return undefined;
  }
}

function machine(): { boot: string; ns: string } | undefined {
  try {
    const boot = fs
      .readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')
      .trim()
      .replace(/[^0-9a-f]/gi, '');
    const ns = /^pid:\[(\d+)\]$/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1];
    return boot && ns ? { boot, ns } : undefined;
  } catch {
    return undefined;
  }
}

interface Holder {
  boot: string;
  ns: string;
  pid: number;
  start: string;
}

const self: Holder | undefined = (() => {
  const m = machine();
  const stat = procStat('self');
  return m && stat ? { ...m, pid: process.pid, start: stat.start } : undefined;
})();

/** What a lock token carries after its random part: ".h1.<boot>.<ns>.<pid>.<start>", or nothing. */
export const holderSuffix: string = self ? `.h1.${self.boot}.${self.ns}.${self.pid}.${self.start}` : '';

function parse(token: string): Holder | undefined {
  const [, tag, boot, ns, pid, start] = token.split('.');
  if (tag !== 'h1' || !boot || !ns || !pid || !start || !/^\d+$/.test(pid)) return undefined;
  const n = Number(pid);
  return Number.isSafeInteger(n) && n > 0 ? { boot, ns, pid: n, start } : undefined;
}

/** True only when the process that wrote `token` certainly no longer exists. */
export function holderIsGone(token: string): boolean {
  const h = parse(token);
  if (!self || !h || h.boot !== self.boot || h.ns !== self.ns) return false;
  // Our own PID: either this process (alive) or an earlier one that had the same number.
  if (h.pid === self.pid) return h.start !== self.start;
  try {
    process.kill(h.pid, 0); // signal 0: only asks whether the process exists
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: it exists, owned by someone else
  }
  const stat = procStat(h.pid);
  if (!stat) return false;
  return stat.state === 'Z' || stat.start !== h.start; // a zombie, or the number was reused
}

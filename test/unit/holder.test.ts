/**
 * The SQLite lock holder check (Linux /proc): only a holder that certainly no longer exists is
 * declared gone; anything it cannot tell counts as alive, leaving the lease to free the lock.
 */
import { spawnSync } from 'node:child_process';
import { holderIsGone, holderSuffix } from '../../src/store/holder.js';

const parts = () => holderSuffix.split('.'); // ['', 'h1', boot, ns, pid, start]
const token = (over: { boot?: string; ns?: string; pid?: string | number; start?: string }) => {
  const [, , boot, ns, pid, start] = parts();
  return `r.h1.${over.boot ?? boot}.${over.ns ?? ns}.${over.pid ?? pid}.${over.start ?? start}`;
};

describe('holderIsGone', () => {
  test('this machine names its processes (Linux /proc is readable here)', () => {
    expect(holderSuffix).toMatch(/^\.h1\.[0-9a-f]+\.\d+\.\d+\.\d+$/);
  });

  test('this process is alive', () => {
    expect(holderIsGone(`abc${holderSuffix}`)).toBe(false);
  });

  test('our PID with another start time was an earlier process: gone', () => {
    expect(holderIsGone(token({ start: '1' }))).toBe(true);
  });

  test('a process that has exited: gone', () => {
    const exited = spawnSync(process.execPath, ['-e', '0']).pid;
    expect(holderIsGone(token({ pid: exited, start: '1' }))).toBe(true);
  });

  test('a live process whose PID matches but whose start time does not (PID reused): gone', () => {
    expect(holderIsGone(token({ pid: process.ppid, start: '1' }))).toBe(true);
  });

  test('another boot or PID namespace, a token without holder, garbage: alive (cannot tell)', () => {
    expect(holderIsGone(token({ boot: 'ffff', start: '1' }))).toBe(false);
    expect(holderIsGone(token({ ns: '1', start: '1' }))).toBe(false);
    expect(holderIsGone('0123456789abcdef')).toBe(false);
    expect(holderIsGone(token({ pid: 0, start: '1' }))).toBe(false); // kill(0) would mean the process group
    expect(holderIsGone(token({ pid: -1, start: '1' }))).toBe(false);
    expect(holderIsGone('x.h1..')).toBe(false);
  });
});

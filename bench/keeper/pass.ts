/**
 * One keeper pass, measured, in a process of its own: `node --expose-gc --import tsx bench/keeper/pass.ts`
 * with the app's environment. The context is built as the server builds it (src/context.ts: the
 * store from the configuration, the XT.COM guard, the keeper from keeperSetup.ts), with a proxy
 * that counts every call to the auth store, the outbox and the guard's sliding windows by method.
 * Then `keeper.pass()` once (the loop is not started), and one line: `RESULT <json>`.
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { buildContext } from '../../src/context.js';
import { createStores } from '../../src/store/select.js';
import type { Stores } from '../../src/store/types.js';

const counts: Record<string, number> = {};
let counting = false;

/** `target` with every method call counted as `<name>.<method>` while `counting` is on. */
function counted<T extends object>(target: T, name: string): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        if (counting) counts[`${name}.${prop}`] = (counts[`${name}.${prop}`] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;

const config = loadConfig(process.env);
const logger = pino({ level: 'silent' });
const raw = await createStores(config, logger, Date.now);
const stores: Stores = {
  ...raw,
  authState: counted(raw.authState, 'auth'),
  outbox: counted(raw.outbox, 'outbox'),
  slidingLog: raw.slidingLog && counted(raw.slidingLog, 'guard'),
  close: () => raw.close(),
};
const ctx = await buildContext(config, { stores, logger });
gc?.();
const rssBefore = process.memoryUsage().rss;
const heapBefore = process.memoryUsage().heapUsed;
counting = true;
const cpu = process.cpuUsage();
const started = performance.now();
const stats = await ctx.keeper.pass();
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
counting = false;
const rssAfter = process.memoryUsage().rss;
const heapAfter = process.memoryUsage().heapUsed;
gc?.();
const rssAfterGc = process.memoryUsage().rss;

// A check after the measurement: how many are still due within the window (deferred by the budget).
const before = Date.now() + config.session.keeper.windowMs;
let stillDue = 0;
for (let partition = 0; partition < raw.authState.duePartitions; partition++) {
  let after;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await raw.authState.dueConnections({ before, after, limit: 500, partition });
    stillDue += page.length;
    if (page.length < 500) break;
    after = page[page.length - 1];
  }
}
await ctx.stores.close();
const result = {
  stats,
  wallMs: Math.round(wallMs),
  cpuMs: Math.round((used.user + used.system) / 1000),
  ops: counts,
  rssBeforeMb: mb(rssBefore),
  rssAfterMb: mb(rssAfter),
  rssAfterGcMb: mb(rssAfterGc),
  heapBeforeMb: mb(heapBefore),
  heapAfterMb: mb(heapAfter),
  stillDue,
};
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);

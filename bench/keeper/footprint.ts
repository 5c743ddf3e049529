/**
 * What the seeded connections cost in Redis: keys, and bytes per connection, for docs/performance.md's
 * figures at 10 million. Read from the benchmark's private redis-server after seeding (nothing else
 * is in it): INFO memory's used_memory against the empty server's, DBSIZE, and MEMORY USAGE of each
 * kind of key (a sample of the per-connection keys, every partition's shared ones).
 */
import { createClient } from 'redis';

export interface Footprint {
  connections: number;
  keys: number;
  usedMemoryBytes: number;
  /** used_memory above the empty server's, per connection. */
  bytesPerConnection: number;
  /** Bytes per connection by kind of key (MEMORY USAGE): the record, its logout-index key, the two indexes' shares. */
  byKind: Record<string, number>;
  /** Keys by kind (the per-connection ones about one each, the partitions' shared ones 16). */
  keysByKind: Record<string, number>;
}

type Client = ReturnType<typeof createClient>;
const SAMPLE = 20;

/** MEMORY USAGE with every element counted (SAMPLES 0), not an estimate from five. */
const memoryUsage = async (c: Client, key: string) =>
  Number(await c.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']));

const usedMemory = async (c: Client) => Number(/used_memory:(\d+)/.exec(await c.info('memory'))?.[1] ?? NaN);

/** The empty server's used_memory, to take off. */
export async function emptyBaseline(url: string): Promise<number> {
  const c = createClient({ url });
  await c.connect();
  try {
    await c.flushAll();
    return await usedMemory(c);
  } finally {
    await c.close();
  }
}

/** The kind of a key: its name without the prefix, up to the first `:` or `{`. */
const kindOf = (key: string) => /^xtc:([a-z]+)/.exec(key)?.[1] ?? key.split(':')[0] ?? key;

export async function footprint(url: string, connections: number, baseline: number): Promise<Footprint> {
  const c = createClient({ url });
  await c.connect();
  try {
    const keysByKind: Record<string, number> = {};
    const bytes: Record<string, number> = {};
    let cursor = '0';
    for (let round = 0; round < 100_000; round++) {
      const r = await c.scan(cursor, { COUNT: 1000 });
      for (const key of r.keys) {
        const kind = kindOf(key);
        const n = (keysByKind[kind] = (keysByKind[kind] ?? 0) + 1);
        // Every shared key (the partitions' indexes), one in SAMPLE of the others, scaled up.
        const every = kind === 'conns' || kind === 'connexp' ? 1 : SAMPLE;
        if (n % every === 0 || every === 1) bytes[kind] = (bytes[kind] ?? 0) + (await memoryUsage(c, key)) * every;
      }
      cursor = String(r.cursor);
      if (cursor === '0') break;
    }
    const used = await usedMemory(c);
    return {
      connections,
      keys: await c.dbSize(),
      usedMemoryBytes: used,
      bytesPerConnection: Math.round((used - baseline) / connections),
      byKind: Object.fromEntries(Object.entries(bytes).map(([k, v]) => [k, Math.round(v / connections)])),
      keysByKind,
    };
  } finally {
    await c.close();
  }
}

/** Redis's own pid (INFO server), for its CPU time. */
export async function redisPid(url: string): Promise<number> {
  const c = createClient({ url });
  await c.connect();
  try {
    return Number(/process_id:(\d+)/.exec(await c.info('server'))?.[1]);
  } finally {
    await c.close();
  }
}

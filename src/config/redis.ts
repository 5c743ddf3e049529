/**
 * Redis: one server (REDIS_URL), a cluster (REDIS_CLUSTER_NODES) or a Sentinel-watched master
 * (REDIS_SENTINELS, REDIS_SENTINEL_NAME), with its credentials (REDIS_USERNAME, REDIS_PASSWORD),
 * its certificates (REDIS_CA_FILE) and the longest wait for a command (REDIS_COMMAND_TIMEOUT).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { durationMs, optionalNonEmpty } from './env.js';
import type { SessionConfig } from './session.js';

export const redisSchema = z.object({
  REDIS_URL: optionalNonEmpty,
  REDIS_CLUSTER_NODES: optionalNonEmpty,
  REDIS_SENTINELS: optionalNonEmpty,
  REDIS_SENTINEL_NAME: optionalNonEmpty,
  REDIS_USERNAME: optionalNonEmpty,
  REDIS_PASSWORD: optionalNonEmpty,
  REDIS_CA_FILE: optionalNonEmpty,
  REDIS_COMMAND_TIMEOUT: durationMs('REDIS_COMMAND_TIMEOUT').default(1000),
});

export type RedisEnv = z.infer<typeof redisSchema>;

export interface RedisNode {
  host: string;
  port: number;
}

/** How to reach Redis: one server, a cluster or a Sentinel-watched master (exactly one of the three). */
export type RedisConfig = (
  | { mode: 'single'; url: string }
  | { mode: 'cluster'; nodes: RedisNode[] }
  | { mode: 'sentinel'; sentinels: RedisNode[]; name: string }
) & {
  /** REDIS_USERNAME / REDIS_PASSWORD (with REDIS_URL they may also be in the URL, but not in both places). */
  username?: string;
  password?: string;
  /**
   * REDIS_CA_FILE's certificates (PEM), read at start: the server's certificate must chain to them.
   * With a cluster or Sentinel they turn TLS on for every connection.
   */
  ca?: string;
  /** Whether the connections use TLS: rediss://, or REDIS_CA_FILE with a cluster or Sentinel. */
  tls: boolean;
};

/** Config.redis: how to reach Redis, and how long to wait for it. */
export type RedisSettings = RedisConfig & {
  /** REDIS_COMMAND_TIMEOUT: the longest wait for any one Redis command; past it the request gets a 503. */
  commandTimeoutMs: number;
};

/**
 * REDIS_URL (one server), REDIS_CLUSTER_NODES (a cluster) or REDIS_SENTINELS with
 * REDIS_SENTINEL_NAME (Sentinel), with REDIS_USERNAME, REDIS_PASSWORD and REDIS_CA_FILE.
 * `store` is SESSION_STORE: with `redis`, one of the three is required. Absent: none is set.
 */
export function loadRedis(e: RedisEnv, store: SessionConfig['store'], problems: string[]): RedisSettings | undefined {
  const before = problems.length;
  const set = checkTopology(e, store, problems);
  const url = e.REDIS_URL ? checkRedisUrl(e, problems) : undefined;
  const nodes = e.REDIS_CLUSTER_NODES ? parseNodes('REDIS_CLUSTER_NODES', e.REDIS_CLUSTER_NODES, problems) : [];
  const sentinels = e.REDIS_SENTINELS ? parseNodes('REDIS_SENTINELS', e.REDIS_SENTINELS, problems) : [];
  const ca = e.REDIS_CA_FILE ? readCaFile(e.REDIS_CA_FILE, problems) : undefined;
  const failed = problems.length > before || set.length !== 1;
  if (e.REDIS_COMMAND_TIMEOUT < 1 || e.REDIS_COMMAND_TIMEOUT > 60_000)
    problems.push('REDIS_COMMAND_TIMEOUT: must be between 1ms and 60s');
  if (failed) return undefined;
  const common = { username: e.REDIS_USERNAME, password: e.REDIS_PASSWORD, ca };
  const commandTimeoutMs = e.REDIS_COMMAND_TIMEOUT;
  if (url) return { mode: 'single', url: e.REDIS_URL!, ...common, tls: url.protocol === 'rediss:', commandTimeoutMs };
  if (e.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes, ...common, tls: !!ca, commandTimeoutMs };
  return { mode: 'sentinel', sentinels, name: e.REDIS_SENTINEL_NAME!, ...common, tls: !!ca, commandTimeoutMs };
}

/** Which of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS are set (one at most), and what each needs beside it. */
function checkTopology(e: RedisEnv, store: SessionConfig['store'], problems: string[]): string[] {
  const set = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter((k) => e[k] !== undefined);
  if (set.length > 1) problems.push(`${set.join(', ')}: set only one (one server, a cluster, or Sentinel)`);
  if (store === 'redis' && set.length === 0) {
    problems.push(
      'REDIS_URL: required when SESSION_STORE=redis (or REDIS_CLUSTER_NODES for a cluster, or REDIS_SENTINELS and REDIS_SENTINEL_NAME for Sentinel)',
    );
  }
  if (e.REDIS_SENTINELS && !e.REDIS_SENTINEL_NAME)
    problems.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name Sentinel monitors the master under)');
  if (e.REDIS_SENTINEL_NAME && !e.REDIS_SENTINELS)
    problems.push('REDIS_SENTINELS: required when REDIS_SENTINEL_NAME is set');
  if (e.REDIS_USERNAME && !e.REDIS_PASSWORD) problems.push('REDIS_USERNAME: needs REDIS_PASSWORD');
  return set;
}

/** REDIS_URL, a redis:// or rediss:// URL whose credentials are not set twice. Undefined when it is no such URL. */
function checkRedisUrl(e: RedisEnv, problems: string[]): URL | undefined {
  let url: URL | undefined;
  try {
    url = new URL(e.REDIS_URL!);
  } catch {
    url = undefined;
  }
  // Never echo the URL: it may hold a password.
  if (!url || !/^rediss?:$/.test(url.protocol) || !url.hostname) {
    problems.push('REDIS_URL: must be a redis:// or rediss:// URL');
    return url;
  }
  if (url.password && e.REDIS_PASSWORD)
    problems.push('REDIS_PASSWORD: REDIS_URL carries a password already; set it in one place');
  if (url.username && e.REDIS_USERNAME)
    problems.push('REDIS_USERNAME: REDIS_URL carries a user name already; set it in one place');
  if (e.REDIS_CA_FILE && url.protocol !== 'rediss:')
    problems.push('REDIS_CA_FILE: set, but REDIS_URL is redis:// (use rediss:// for TLS)');
  return url;
}

/** REDIS_CA_FILE's certificates, read at start. */
function readCaFile(file: string, problems: string[]): string | undefined {
  try {
    const ca = fs.readFileSync(file, 'utf8');
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(`REDIS_CA_FILE: ${file} holds no PEM certificate`);
    return ca;
  } catch (err) {
    problems.push(
      `REDIS_CA_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
    return undefined;
  }
}

/** `host:port` (the host may be a [bracketed] IPv6 address), or undefined. */
function parseNode(text: string): RedisNode | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function parseNodes(name: string, list: string, problems: string[]): RedisNode[] {
  const nodes: RedisNode[] = [];
  for (const [i, entry] of list.split(',').entries()) {
    const node = parseNode(entry);
    if (node) nodes.push(node);
    // An entry with an @ may hold a password (`:secret@host:port`): not quoted.
    else
      problems.push(
        `${name}: entry #${i + 1} ${entry.includes('@') ? '(it holds an @; not shown)' : `("${entry.trim()}")`} must be host:port`,
      );
  }
  return nodes;
}

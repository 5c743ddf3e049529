/**
 * How Redis beyond one server is configured: REDIS_CLUSTER_NODES, REDIS_SENTINELS with
 * REDIS_SENTINEL_NAME, REDIS_USERNAME/REDIS_PASSWORD and REDIS_CA_FILE, and every problem loadConfig
 * reports about them. The topologies themselves, against real servers: redis-topologies-cluster,
 * -sentinel and -tls.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type Env, loadConfig } from '../../src/config/index.js';
import { tempDir, xtEnv } from '../helpers/harness.js';

const CONFIG_ENV = xtEnv({ url: 'http://127.0.0.1:1' });

/** The problems loadConfig lists for `env` ([] when it loads). */
function problems(env: Env): string[] {
  try {
    loadConfig({ ...CONFIG_ENV, ...env });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('configuration', () => {
  test('a cluster or Sentinel needs no REDIS_URL; exactly one of the three with SESSION_STORE=redis', () => {
    const cluster = loadConfig({
      ...CONFIG_ENV,
      SESSION_STORE: 'redis',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001,[::1]:7002',
    });
    expect(cluster.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      tls: false,
      commandTimeoutMs: 1000,
    });
    const sentinel = loadConfig({
      ...CONFIG_ENV,
      SESSION_STORE: 'redis',
      REDIS_SENTINELS: 's1:26379,s2:26379',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_USERNAME: 'xtc',
      REDIS_PASSWORD: 'pw-of-xtc',
    });
    expect(sentinel.redis).toMatchObject({
      mode: 'sentinel',
      name: 'mymaster',
      username: 'xtc',
      password: 'pw-of-xtc',
      tls: false,
    });
    expect(loadConfig({ ...CONFIG_ENV, SESSION_STORE: 'redis', REDIS_URL: 'redis://r:6379' }).redis).toEqual({
      mode: 'single',
      url: 'redis://r:6379',
      tls: false,
      commandTimeoutMs: 1000,
    });

    expect(problems({ SESSION_STORE: 'redis' })).toEqual([
      expect.stringMatching(/^REDIS_URL: required when SESSION_STORE=redis .*REDIS_CLUSTER_NODES.*REDIS_SENTINELS/),
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'a:1' })).toEqual([
      'REDIS_URL, REDIS_CLUSTER_NODES: set only one (one server, a cluster, or Sentinel)',
    ]);
  });

  test('every problem at once: bad node entries, a half-set Sentinel, a user without password, an unreadable CA file', () => {
    const dir = tempDir();
    const notPem = path.join(dir, 'not.pem');
    fs.writeFileSync(notPem, 'hello');
    expect(
      problems({
        SESSION_STORE: 'redis',
        REDIS_CLUSTER_NODES: 'a:1,b,c:99999',
        REDIS_USERNAME: 'u',
        REDIS_CA_FILE: path.join(dir, 'missing.pem'),
      }),
    ).toEqual([
      'REDIS_USERNAME: needs REDIS_PASSWORD',
      'REDIS_CLUSTER_NODES: entry #2 ("b") must be host:port',
      'REDIS_CLUSTER_NODES: entry #3 ("c:99999") must be host:port',
      `REDIS_CA_FILE: cannot read ${path.join(dir, 'missing.pem')} (ENOENT)`,
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_SENTINELS: 's1:26379' })).toEqual([
      expect.stringMatching(/^REDIS_SENTINEL_NAME: required with REDIS_SENTINELS/),
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_URL: 'redis://r:6379', REDIS_SENTINEL_NAME: 'm' })).toEqual([
      'REDIS_SENTINELS: required when REDIS_SENTINEL_NAME is set',
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_URL: 'rediss://r:6379', REDIS_CA_FILE: notPem })).toEqual([
      `REDIS_CA_FILE: ${notPem} holds no PEM certificate`,
    ]);
    expect(
      problems({
        SESSION_STORE: 'redis',
        REDIS_URL: 'redis://:secret@r:6379',
        REDIS_PASSWORD: 'x',
        REDIS_CA_FILE: notPem,
      }),
    ).toEqual([
      'REDIS_PASSWORD: REDIS_URL carries a password already; set it in one place',
      'REDIS_CA_FILE: set, but REDIS_URL is redis:// (use rediss:// for TLS)',
      `REDIS_CA_FILE: ${notPem} holds no PEM certificate`,
    ]);
    expect(problems({ SESSION_STORE: 'redis', REDIS_URL: 'http://r:6379' })).toEqual([
      'REDIS_URL: must be a redis:// or rediss:// URL',
    ]);
  });
});

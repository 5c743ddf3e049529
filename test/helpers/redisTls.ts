/**
 * A real redis-server that speaks TLS only, for tests: started on a free loopback port in a temp
 * directory (redisProcess.ts), and stopped (by the pid we started) with stop().
 */
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './harness.js';
import { freePorts, run, spawnRedis, stopProc, waitFor } from './redisProcess.js';

export interface RedisTls {
  /** `rediss://127.0.0.1:P`. */
  url: string;
  /** The CA's certificate (PEM), as REDIS_CA_FILE names it. */
  caFile: string;
  /** A certificate of another CA, which the server's certificate does not chain to. */
  otherCaFile: string;
  stop(): Promise<void>;
}

/** Whether this redis-server was built with TLS (Debian's is). */
export async function redisHasTls(): Promise<boolean> {
  try {
    const { stdout } = await run('ldd', [(await run('sh', ['-c', 'command -v redis-server'])).stdout.trim()]);
    return /libssl/.test(stdout);
  } catch {
    return false;
  }
}

/**
 * A redis-server that listens with TLS only (`--port 0 --tls-port P`) under a certificate for
 * 127.0.0.1 from a self-signed CA made here with openssl; clients need no certificate.
 */
export async function startRedisTls(): Promise<RedisTls> {
  const dir = tempDir('xtc-redis-tls-');
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir, timeout: 30_000 });
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=xtc test CA',
  );
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('other.key'),
    '-out',
    f('other.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=another CA',
  );
  await ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  );
  fs.writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
  );
  const [port] = await freePorts(1);
  const p = spawnRedis(
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--tls-cert-file',
      f('server.crt'),
      '--tls-key-file',
      f('server.key'),
      '--tls-ca-cert-file',
      f('ca.crt'),
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    port!,
    dir,
  );
  try {
    await waitFor(`redis-server (TLS) on ${port}`, () => tlsPingable(port!, f('ca.crt')), 10_000);
  } catch (err) {
    await stopProc(p);
    throw err;
  }
  return {
    url: `rediss://127.0.0.1:${port}`,
    caFile: f('ca.crt'),
    otherCaFile: f('other.crt'),
    stop: async () => {
      await stopProc(p);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function tlsPingable(port: number, caFile: string): Promise<boolean> {
  const tls = await import('node:tls');
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(caFile) }, () => s.write('PING\r\n'));
    s.once('data', (d: Buffer) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
  });
}

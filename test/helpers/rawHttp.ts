/**
 * HTTP/1.1 written byte for byte on a socket, for tests that must send a request target exactly
 * as given (`..`, `%2e%2e`, a backslash, NUL, an absolute URL): HTTP clients normalise or refuse those.
 */
import type { Server } from 'node:http';
import net from 'node:net';
import type { Express } from 'express';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  json(): { error?: { code?: string; next?: string } } & Record<string, unknown>;
}

export async function listen(app: Express): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (let i = 0; i < 10_000; i++) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) break;
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) break;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
  return out;
}

/** Sends `method target` with the given headers (and body), reads the answer until the server closes. */
export function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body: Buffer | string = '',
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer to ${method} ${JSON.stringify(target)}`));
    }, 8000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = (split < 0 ? text : text.slice(0, split)).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const hdrs: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const c = line.indexOf(':');
        if (c > 0) hdrs[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
      }
      const raw = split < 0 ? '' : text.slice(split + 4);
      const b = hdrs['transfer-encoding'] === 'chunked' ? dechunk(raw) : raw;
      resolve({ status, headers: hdrs, body: b, json: () => JSON.parse(b) as ReturnType<RawAnswer['json']> });
    });
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const all: Record<string, string> = { Host: '127.0.0.1', Connection: 'close', ...headers };
    if (payload.length && all['Transfer-Encoding'] === undefined) all['Content-Length'] ??= String(payload.length);
    const headText = Object.entries(all)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    s.write(Buffer.concat([Buffer.from(`${method} ${target} HTTP/1.1\r\n${headText}\r\n`, 'latin1'), payload]));
  });
}

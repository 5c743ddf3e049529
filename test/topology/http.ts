/** The topology run's HTTP client: https through nginx (trusting its certificate), or plain http to a replica. */
import http from 'node:http';
import https from 'node:https';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let caCert: Buffer | undefined;

/** From now on, https is checked against `cert` (nginx's self-signed certificate). */
export function trustCa(cert: Buffer): void {
  caCert = cert;
}

/** One request (https through nginx with our CA, or plain http to a replica); rejects on a socket error or after 10 s. */
export function fetchRaw(
  url: string,
  opts: { localAddress?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      { agent: false, ca: caCert, localAddress: opts.localAddress, headers: opts.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

export const headerOf = (r: Reply, name: string): string => {
  const v = r.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
};

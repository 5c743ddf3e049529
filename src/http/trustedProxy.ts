/**
 * Whether a request came through a proxy TRUST_PROXY believes: what it added to the request (an
 * X-Request-Id, a traceparent) may then be kept. Asked of the immediate peer with Express's own
 * compiled `trust proxy` (a hop count, addresses, subnets, or true), so it agrees with req.ip.
 */
import type { Request } from 'express';

type TrustFn = (address: string, hop: number) => boolean;

export function fromTrustedProxy(req: Request): boolean {
  const trust = req.app.get('trust proxy fn') as TrustFn | undefined;
  const peer = req.socket.remoteAddress;
  return typeof trust === 'function' && peer !== undefined && trust(peer, 0);
}

/** An X-Request-Id a trusted proxy set (nginx's $request_id, a UUID), when it is a plain id. */
export function trustedRequestId(req: Request): string | undefined {
  const id = req.headers['x-request-id'];
  if (typeof id !== 'string' || !/^[A-Za-z0-9._:-]{8,128}$/.test(id)) return undefined;
  return fromTrustedProxy(req) ? id : undefined;
}

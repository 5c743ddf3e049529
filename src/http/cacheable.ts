/**
 * A public, cacheable answer held in memory (the contract, the Connect button's script): a strong
 * ETag of its bytes, 304 for a matching If-None-Match, and the bytes otherwise.
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';

export interface Cacheable {
  body: Buffer;
  etag: string;
}

/** `body` with its strong ETag (a SHA-256 of the bytes). */
export function cacheable(body: Buffer): Cacheable {
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
}

/** If-None-Match names `etag` (compared weakly, as RFC 9110 has it for this header), or is `*`. */
export function notModified(req: Request, etag: string): boolean {
  const header = req.get('if-none-match');
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

/** Sends `what` as `type`, cacheable for `maxAgeSeconds` by anyone, or a 304 when the client holds it. */
export function sendCacheable(req: Request, res: Response, what: Cacheable, type: string, maxAgeSeconds: number): void {
  res.set({ 'Cache-Control': `public, max-age=${maxAgeSeconds}`, ETag: what.etag });
  if (notModified(req, what.etag)) {
    res.status(304).end();
    return;
  }
  res.type(type).set('Content-Length', String(what.body.length)).end(what.body);
}

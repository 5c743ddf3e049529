/**
 * One access line per request ("request completed": the request's id, method and URL with every
 * query value hidden, the status, the time taken, and the service API key's name when there is
 * one), at warn for a failure and info otherwise; "request aborted" at warn when the client went
 * away before the answer was sent; nothing for /healthz. Each request gets an id,
 * sent back as X-Request-Id: the one a trusted proxy (TRUST_PROXY) sent, or a new one.
 *
 * Cheap by design, since it runs on every request: no child logger, and at a level that drops the
 * line, nothing but the id is done. Code that logs about a request adds `reqId: req.id` itself.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { safeUrl } from '../logger.js';
import { trustedRequestId } from './trustedProxy.js';

declare module 'http' {
  interface IncomingMessage {
    /** The request's id (also the X-Request-Id response header). */
    id: string;
  }
}

export function accessLog(logger: Logger) {
  return function logRequest(req: Request, res: Response, next: NextFunction): void {
    const id = trustedRequestId(req) ?? randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    if (req.url === '/healthz' || !logger.isLevelEnabled('warn')) return next();
    const started = performance.now();
    // 'close' comes after 'finish', or alone when the client went away first: then "request aborted".
    res.once('close', () => {
      const aborted = !res.writableFinished;
      const level = aborted || res.statusCode >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const serviceKey = (res.locals as { serviceKey?: string }).serviceKey;
      logger[level](
        {
          req: { id, method: req.method, url: safeUrl(req.originalUrl) },
          res: { statusCode: aborted ? undefined : res.statusCode },
          responseTime: Math.round(performance.now() - started),
          ...(serviceKey ? { serviceKey } : {}),
        },
        aborted ? 'request aborted' : 'request completed',
      );
    });
    next();
  };
}

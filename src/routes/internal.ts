/**
 * The metrics listener (METRICS_PORT): Prometheus metrics at `GET /metrics` and the detailed
 * readiness at `GET /readyz` (the store, why not ready, the webhook outbox), and nothing else.
 * The public port serves neither, so a network policy can keep these figures internal.
 */
import type { RequestListener } from 'node:http';
import type { AppContext } from '../context.js';
import { readiness, readinessHeaders } from './health.js';

export function internalListener(ctx: AppContext): RequestListener {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      ctx.metrics.text().then(
        (body) =>
          res
            .writeHead(200, { 'content-type': ctx.metrics.registry.contentType, 'cache-control': 'no-store' })
            .end(body),
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      );
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      void readiness(ctx).then((detail) => {
        const { status, headers } = readinessHeaders(detail);
        res
          .writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' })
          .end(JSON.stringify(detail));
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
}

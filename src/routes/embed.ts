/**
 * GET /connect.js: the drop-in Connect button (public/connect.js), an ES module that pages on the
 * institution's own origins (EMBED_ORIGINS) import to open the connection in a popup.
 *
 * Mounted before the session, so it sets no cookie. A module script is fetched with CORS, so the
 * answer carries `Access-Control-Allow-Origin` naming the requesting origin when, and only when,
 * that origin is listed; any other origin gets no CORS header and its browser refuses the module.
 * `Vary: Origin` keeps a shared cache from serving one origin's answer to another. The file is
 * read at start and served from memory, cacheable for a day, with a strong ETag of its bytes.
 */
import fs from 'node:fs';
import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { cacheable, sendCacheable } from '../http/cacheable.js';

export const CONNECT_JS_PATH = '/connect.js';

export function embedRouter(ctx: AppContext, file: string): Router {
  const script = cacheable(fs.readFileSync(file));
  const allowed = new Set(ctx.config.integration.embedOrigins);
  const r = Router();
  r.get(CONNECT_JS_PATH, function connectScript(req: Request, res: Response) {
    const origin = req.get('origin');
    res.vary('Origin');
    if (origin !== undefined && allowed.has(origin)) {
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Cross-Origin-Resource-Policy': 'cross-origin', // helmet's same-origin would contradict the line above
      });
    }
    sendCacheable(req, res, script, 'text/javascript', 86_400);
  });
  return r;
}

/**
 * GET /v1/openapi.json: the contract (api/openapi.yaml, written by hand and checked by the tests),
 * served as JSON to anyone. Mounted before the service API's bearer check and the session, so it
 * needs no key, sets no cookie, and is there whether or not SERVICE_API_KEYS is set.
 *
 * The file is read at start (a missing file stops the app there), and parsed once, on the first
 * request: the YAML parser and the parse cost tens of milliseconds that a start need not wait for
 * (bench/startup.ts). `servers` names this deployment (PUBLIC_URL's origin). The answer is
 * cacheable for five minutes by anyone, with a strong ETag of its bytes (304 for If-None-Match), and
 * readable from any origin. It holds nothing secret: the file has no setting in it but PUBLIC_URL.
 */
import fs from 'node:fs';
import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { type Cacheable, cacheable, sendCacheable } from '../http/cacheable.js';

export const OPENAPI_JSON_PATH = '/v1/openapi.json';

/** The document as served: `text` parsed, with `servers` naming `publicUrl`, as JSON bytes and their ETag. */
export async function servedDocument(text: string, publicUrl: URL): Promise<Cacheable> {
  // Its own chunk in the bundle, loaded on first use. `default`: yaml is CommonJS, and the bundle's
  // chunk of it exports only its module.exports (Node's own loader would give the names as well).
  const { default: yaml } = await import('yaml');
  const doc = yaml.parse(text) as Record<string, unknown>;
  doc.servers = [{ url: publicUrl.origin, description: 'This deployment.' }];
  return cacheable(Buffer.from(JSON.stringify(doc), 'utf8'));
}

export function openapiRouter(ctx: AppContext, file: string): Router {
  const text = fs.readFileSync(file, 'utf8');
  let served: Promise<Cacheable> | undefined;
  const r = Router();
  r.get(OPENAPI_JSON_PATH, async function openapiDocument(req: Request, res: Response) {
    const doc = await (served ??= servedDocument(text, ctx.config.server.publicUrl));
    res.set({
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin', // helmet's same-origin would contradict the line above
    });
    sendCacheable(req, res, doc, 'application/json', 300);
  });
  return r;
}

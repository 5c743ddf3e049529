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
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';

export const OPENAPI_JSON_PATH = '/v1/openapi.json';

interface Served {
  body: Buffer;
  etag: string;
}

/** The document as served: `text` parsed, with `servers` naming `publicUrl`, as JSON bytes and their ETag. */
export async function servedDocument(text: string, publicUrl: URL): Promise<Served> {
  // Its own chunk in the bundle, loaded on first use. `default`: yaml is CommonJS, and the bundle's
  // chunk of it exports only its module.exports (Node's own loader would give the names as well).
  const { default: yaml } = await import('yaml');
  const doc = yaml.parse(text) as Record<string, unknown>;
  doc.servers = [{ url: publicUrl.origin, description: 'This deployment.' }];
  const body = Buffer.from(JSON.stringify(doc), 'utf8');
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

export function openapiRouter(ctx: AppContext, file: string): Router {
  const text = fs.readFileSync(file, 'utf8');
  let served: Promise<Served> | undefined;
  const r = Router();
  r.get(OPENAPI_JSON_PATH, async function openapiDocument(req: Request, res: Response) {
    const { body, etag } = await (served ??= servedDocument(text, ctx.config.server.publicUrl));
    res.set({
      'Cache-Control': 'public, max-age=300',
      ETag: etag,
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin', // helmet's same-origin would contradict the line above
    });
    if (notModified(req, etag)) {
      res.status(304).end();
      return;
    }
    res.type('application/json').set('Content-Length', String(body.length)).end(body);
  });
  return r;
}

/**
 * GET /docs/api: the contract (GET /v1/openapi.json) rendered for people, by Swagger UI, with every
 * file served by us: the page (views/api-reference.html), its starter and its few overrides
 * (public/api-reference.js, public/api-reference.css, under /static) and Swagger UI's own CSS and
 * JavaScript, read from the swagger-ui-dist package in node_modules (under /docs/api/assets/). No CDN,
 * no font or image from elsewhere, and the page asks nothing of any other origin.
 *
 * Why Swagger UI (swagger-ui-dist): it is the one well-kept renderer that ships its styles as a
 * static file (swagger-ui.css). Redoc and Scalar build theirs at run time into <style> elements
 * (styled-components, Vue), which our CSP (style-src 'self', no 'unsafe-inline') refuses; letting
 * them through would take a per-request nonce on a page-scoped CSP, and a nonce needs the library to
 * put it on the elements it makes. Swagger UI renders with React, whose `style` props are set
 * through the CSSOM, which CSP does not govern. So the page runs under the app's one CSP, unchanged:
 * no nonce, no 'unsafe-inline', no 'unsafe-eval' (the browser test proves it: no violation at all).
 * The inline <style> others met with swagger-ui-dist under a strict CSP is in the standalone
 * preset's logo; the starter does not load that preset (BaseLayout, no top bar).
 *
 * Outside /v1 on purpose: /v1 is the service API (JSON, bearer keys, every answer in the contract),
 * and this is a page for people. Public like the document it shows: it holds nothing secret. Mounted
 * before the session: it sets no cookie. swagger-ui-dist is a runtime dependency (the image keeps it).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type Request, type Response, Router } from 'express';

export const REFERENCE_PATH = '/docs/api';
export const REFERENCE_ASSETS_PATH = `${REFERENCE_PATH}/assets`;

/** The files of swagger-ui-dist the page loads, and their types; nothing else of the package is served. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

/** swagger-ui-dist's folder, as Node resolves it from the app's root (a dependency: it is always there). */
export function swaggerUiDist(root: string): string {
  return path.dirname(createRequire(path.join(root, 'package.json')).resolve('swagger-ui-dist/package.json'));
}

export function referenceRouter(root: string, dist = swaggerUiDist(root)): Router {
  const r = Router();
  const page = fs.readFileSync(path.join(root, 'views', 'api-reference.html'));
  const files = new Map(Object.keys(ASSETS).map((name) => [name, fs.readFileSync(path.join(dist, name))]));
  r.get(REFERENCE_PATH, function apiReference(_req: Request, res: Response) {
    res.set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'public, max-age=300' });
    res.send(page);
  });
  r.get(`${REFERENCE_ASSETS_PATH}/:file`, function apiReferenceAsset(req: Request, res: Response, next) {
    const name = String(req.params.file);
    const body = Object.hasOwn(ASSETS, name) ? files.get(name) : undefined;
    if (!body) return next();
    // The package's version is in no URL, so these are revalidated after an hour rather than kept forever.
    res.set({ 'Content-Type': ASSETS[name]!, 'Cache-Control': 'public, max-age=3600' });
    res.send(body);
  });
  return r;
}

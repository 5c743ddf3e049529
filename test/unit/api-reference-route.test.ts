/**
 * GET /docs/api (src/routes/reference.ts), with a stand-in swagger-ui-dist folder so it runs whether
 * or not the package is installed: the page and the two assets it names are served, nothing else of
 * the package is, and the page itself has no inline script or style and names only our own paths,
 * each of which exists. The real package in a real browser: test/browser/api-reference.browser.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { ROOT } from '../../src/app.js';
import { REFERENCE_PATH, referenceRouter } from '../../src/routes/reference.js';
import { tempDir } from '../helpers/harness.js';

const dist = tempDir('swagger-ui-dist-');
fs.writeFileSync(path.join(dist, 'swagger-ui.css'), '.swagger-ui{color:#3b4151}');
fs.writeFileSync(path.join(dist, 'swagger-ui-bundle.js'), 'window.SwaggerUIBundle=function(){};');
fs.writeFileSync(path.join(dist, 'package.json'), '{"name":"swagger-ui-dist"}');
const app = express().use(referenceRouter(ROOT, dist));
const PAGE = fs.readFileSync(path.join(ROOT, 'views', 'api-reference.html'), 'utf8');

test('the page: HTML, public and cacheable for five minutes, no cookie', async () => {
  const res = await request(app).get(REFERENCE_PATH);
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['cache-control']).toBe('public, max-age=300');
  expect(res.headers['set-cookie']).toBeUndefined();
  expect(res.text).toBe(PAGE);
});

test("Swagger UI's CSS and JavaScript, and nothing else of the package", async () => {
  const css = await request(app).get('/docs/api/assets/swagger-ui.css');
  expect([css.status, css.headers['content-type'], css.text]).toEqual([
    200,
    'text/css; charset=utf-8',
    '.swagger-ui{color:#3b4151}',
  ]);
  const js = await request(app).get('/docs/api/assets/swagger-ui-bundle.js');
  expect([js.status, js.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
  for (const other of ['package.json', 'index.html', '..%2Fpackage.json', 'swagger-ui.js', 'constructor'])
    expect((await request(app).get(`/docs/api/assets/${other}`)).status).toBe(404);
});

test('the page has no inline script or style, and names only our own paths, each of which is served', () => {
  expect(PAGE).not.toMatch(/<style|style=|<script(?![^>]*\bsrc=)/i);
  expect(PAGE).not.toMatch(/\bon[a-z]+=/i); // no inline event handler either
  const urls = [...PAGE.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  expect(urls).toEqual(expect.arrayContaining(['/docs/api/assets/swagger-ui-bundle.js', '/static/api-reference.js']));
  for (const url of urls) {
    expect(url).toMatch(/^\/[a-z]/); // same origin, by path
    if (url.startsWith('/static/')) expect(fs.existsSync(path.join(ROOT, 'public', url.slice(8)))).toBe(true);
  }
});

test('the starter shows only our document, reads only, and asks no validator', () => {
  const starter = fs.readFileSync(path.join(ROOT, 'public', 'api-reference.js'), 'utf8');
  expect(starter).toMatch(/url: '\/v1\/openapi\.json'/);
  expect(starter).toMatch(/validatorUrl: null/);
  expect(starter).toMatch(/supportedSubmitMethods: \[\]/);
  expect(starter).toMatch(/queryConfigEnabled: false/);
  expect(starter).not.toMatch(/https?:\/\//);
});

/**
 * The security headers by kind of answer (src/http/securityHeaders.ts), as they leave the app: a
 * document (a page, an error page, a redirect, a stylesheet) gets helmet's full set for the app's
 * options; a JSON answer gets helmet's set for an API (nosniff, CORP, a CSP that allows nothing,
 * HSTS behind https) and none of the document-only headers. The set follows the answer's own
 * Content-Type, wherever it was produced: an HTML error page under /v1 (the service API off) is a
 * document. Every HTML answer of every integration test is also checked for the full set by the
 * contract guard (test/helpers/contractGuard.ts).
 */
import fc from 'fast-check';
import helmet from 'helmet';
import request from 'supertest';
import { helmetHeaders, isJsonType, jsonHelmetOptions } from '../../src/http/securityHeaders.js';
import { type Harness, connectXt, startHarness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

/** Helmet's full set on a document, by name (lower case), as the app's options give it (HSTS off on http). */
const DOCUMENT_ONLY = [
  'cross-origin-opener-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];
const BOTH = ['content-security-policy', 'cross-origin-resource-policy', 'x-content-type-options'];

type Answer = { status: number; headers: Record<string, string | string[] | undefined> };

function expectDocument(where: string, res: Answer, csp: string): void {
  for (const name of [...BOTH, ...DOCUMENT_ONLY])
    expect([where, name, res.headers[name]]).toEqual([where, name, expect.any(String)]);
  expect([where, res.headers['content-security-policy']]).toEqual([where, csp]);
  expect([where, res.headers['x-powered-by']]).toEqual([where, undefined]);
}

function expectJson(where: string, res: Answer): void {
  expect([where, String(res.headers['content-type'])]).toEqual([where, expect.stringMatching(/^application\/json/)]);
  expect([where, res.headers['content-security-policy']]).toEqual([where, "default-src 'none';frame-ancestors 'none'"]);
  expect([where, res.headers['x-content-type-options']]).toEqual([where, 'nosniff']);
  expect([where, res.headers['cross-origin-resource-policy']]).toEqual([where, 'same-origin']);
  for (const name of DOCUMENT_ONLY) expect([where, name, res.headers[name]]).toEqual([where, name, undefined]);
}

describe('security headers by kind of answer', () => {
  test('documents get the full set, JSON answers the API set; personal answers are no-store', async () => {
    h = await startHarness({ env: { SERVICE_API_KEYS: 'backend:service-key-0123456789abcdef0123' } });
    await connectXt(h.agent);
    const documents = ['/', '/account', '/nope', '/static/app.css', '/auth/xt/callback?state=x&code=y'];
    const json = ['/api/session', '/api/nope', '/API/Session', '/healthz'];
    const page = await h.agent.get('/');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    for (const p of documents) expectDocument(p, await h.agent.get(p), csp);
    for (const p of json) expectJson(p, await h.agent.get(p));
    const service = await h.agent
      .get('/v1/subjects/u1/connections')
      .set('Authorization', 'Bearer service-key-0123456789abcdef0123');
    expectJson('/v1 (a bearer key)', service);
    expectJson('/v1 without a key', await request(h.built.app).get('/v1/subjects/u1/connections'));
    // A redirect (the login, to XT.COM) is a document: it may carry a body a browser shows.
    const login = await h.agent.get('/auth/xt/login');
    expect(login.status).toBe(302);
    expectDocument('/auth/xt/login', login, csp);
    for (const p of ['/', '/api/session', '/api/nope'])
      expect([p, (await h.agent.get(p)).headers['cache-control']]).toEqual([p, 'no-store']);
  });

  test('an HTML answer under /v1 or /api is still a document: the set follows the Content-Type, not the path', async () => {
    h = await startHarness(); // the service API off: /v1 is a page's 404
    const res = await h.agent.get('/v1');
    expect([res.status, res.type]).toEqual([404, 'text/html']);
    expectDocument('/v1 (service API off)', res, String((await h.agent.get('/')).headers['content-security-policy']));
  });

  test("a header a route sets itself is kept: the callback's Referrer-Policy, connect.js's CORP", async () => {
    h = await startHarness({ env: { EMBED_ORIGINS: 'https://partner.example' } });
    const callback = await h.agent.get('/auth/xt/callback?state=x&code=y');
    expect(callback.headers['referrer-policy']).toBe('no-referrer');
    const script = await h.agent.get('/connect.js').set('Origin', 'https://partner.example');
    expect(script.headers['cross-origin-resource-policy']).toBe('cross-origin');
  });

  test('behind https both sets carry HSTS', async () => {
    h = await startHarness({ env: { PUBLIC_URL: 'https://connect.example' } });
    for (const p of ['/', '/api/session'])
      expect([p, (await h.agent.get(p)).headers['strict-transport-security']]).toEqual([p, expect.any(String)]);
  });

  test("the API set is helmet's own, as helmet sets it on a real response", async () => {
    const { default: express } = await import('express');
    const options = jsonHelmetOptions({ strictTransportSecurity: false });
    const app = express();
    app.use(helmet(options));
    app.get('/', (_req, res) => void res.json({}));
    const real = await request(app).get('/');
    for (const [name, value] of helmetHeaders(options))
      expect([name, real.headers[name.toLowerCase()]]).toEqual([name, value]);
  });

  test('isJsonType: JSON media types with or without parameters; nothing else is', () => {
    for (const t of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/problem+json',
    ])
      expect([t, isJsonType(t)]).toEqual([t, true]);
    for (const t of [
      'text/html',
      'text/json',
      'application/jsonp',
      'application/json-seq',
      'application/x-json',
      // Chromium renders these as HTML (the last type wins), even with nosniff: the red team's finding.
      'application/json, text/html',
      'application/json;x=,text/html',
      'application/json; charset=utf-8, text/html',
      '',
      undefined,
      3,
    ])
      expect([t, isJsonType(t)]).toEqual([t, false]);
    // Whatever the type, a document-looking one is never taken for JSON.
    fc.assert(
      fc.property(
        fc.string(),
        (suffix) => !isJsonType(`text/html${suffix}`) && !isJsonType(`application/xhtml+xml${suffix}`),
      ),
    );
    // Nor is any value that names another type after a comma.
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => !isJsonType(`application/json${a},${b}`)));
  });
});

/**
 * GET /connect.js, the drop-in Connect button: public, long cacheable, and importable (CORS) from
 * exactly the origins in EMBED_ORIGINS; any other origin, or none, gets no CORS header at all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { ROOT } from '../../src/app.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const ALLOWED = 'https://www.bank.example';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { EMBED_ORIGINS: `${ALLOWED},http://127.0.0.1:5173` } });
});
afterAll(async () => {
  await h?.close();
});

const get = (headers: Record<string, string> = {}) => request(h.built.app).get('/connect.js').set(headers);

test('an allowed origin gets its own origin back, with Vary: Origin, a day of caching and no cookie', async () => {
  const res = await get({ Origin: ALLOWED });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/javascript/);
  expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
  expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
  expect(res.headers.vary).toMatch(/\bOrigin\b/);
  expect(res.headers['cache-control']).toBe('public, max-age=86400');
  expect(res.headers['set-cookie']).toBeUndefined();
  expect(res.text).toBe(fs.readFileSync(path.join(ROOT, 'public', 'connect.js'), 'utf8'));
  // The CSP and the other security headers stay as on every answer.
  expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
});

test('an origin not listed, a look-alike, "null" or no Origin gets no CORS header', async () => {
  for (const origin of ['https://evil.example', `${ALLOWED}.evil.example`, 'http://www.bank.example', 'null']) {
    const res = await get({ Origin: origin });
    expect([origin, res.status, res.headers['access-control-allow-origin']]).toEqual([origin, 200, undefined]);
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(res.headers.vary).toMatch(/\bOrigin\b/);
  }
  const none = await get();
  expect(none.headers['access-control-allow-origin']).toBeUndefined();
});

test('a strong ETag: If-None-Match gives 304, still with the CORS header for an allowed origin', async () => {
  const first = await get({ Origin: ALLOWED });
  const again = await get({ Origin: ALLOWED, 'If-None-Match': first.headers.etag! });
  expect(again.status).toBe(304);
  expect(again.headers['access-control-allow-origin']).toBe(ALLOWED);
});

test('with EMBED_ORIGINS unset, the script is served to no other origin', async () => {
  const plain = await startHarness();
  try {
    const res = await request(plain.built.app).get('/connect.js').set('Origin', ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  } finally {
    await plain.close();
  }
});

test('small: under 4 kB gzipped', () => {
  const gz = gzipSync(fs.readFileSync(path.join(ROOT, 'public', 'connect.js')), { level: 9 }).length;
  expect(gz).toBeLessThan(4096);
});

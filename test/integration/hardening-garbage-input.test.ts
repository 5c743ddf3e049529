/**
 * Garbage in the query string and in form bodies (fast-check): never a 5xx, and the process stays
 * up. Each test fails against a naive implementation.
 */
import fc from 'fast-check';
import { type Harness, connectXt, startHarness, sessionJson } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('garbage in the query string', () => {
  const garbage = fc.oneof(
    fc.string({ maxLength: 50 }),
    fc.string({ unit: 'binary', maxLength: 50 }),
    fc.constantFrom(
      '%',
      '%zz',
      '%E0%A4%A',
      '%00',
      '%C0%AF',
      '\u0000',
      '%FF%FE',
      'a'.repeat(9000),
      '[]',
      '__proto__',
      'constructor',
    ),
  );
  const key = fc.oneof(
    fc.constantFrom(
      'code',
      'state',
      'error',
      'returnTo',
      'code[]',
      'state[x]',
      'returnTo[][]',
      '__proto__',
      'error_description',
    ),
    fc.string({ maxLength: 10 }),
  );
  const query = fc
    .array(fc.tuple(key, garbage), { maxLength: 6 })
    .map((pairs) =>
      pairs
        .map(
          ([k, v]) =>
            `${encodeURIComponent(k)}=${Math.random() < 0.5 ? encodeURIComponent(v) : v.replace(/[#\s&]/g, '')}`,
        )
        .join('&'),
    );

  test('property: callback and login never answer 5xx, and the process stays up', async () => {
    h = await startHarness();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/auth/xt/callback', '/auth/xt/login', '/account', '/api/session', '/'),
        query,
        async (path, q) => {
          const res = await h.agent.get(`${path}?${q}`);
          expect(res.status).toBeLessThan(500);
          if (path === '/auth/xt/callback') expect(res.status).toBeGreaterThanOrEqual(400);
        },
      ),
      { numRuns: 300 },
    );
    expect(h.xt.calls.authorization_code).toBe(0);
    expect((await h.agent.get('/healthz')).status).toBe(200);
  }, 60_000);

  test('property: form bodies on logout never answer 5xx', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    await fc.assert(
      fc.asyncProperty(query, async (body) => {
        const res = await h.agent
          .post('/auth/xt/logout')
          .set('Content-Type', 'application/x-www-form-urlencoded')
          .send(body);
        expect([403, 413]).toContain(res.status); // refused (no valid token), or too large
      }),
      { numRuns: 100 },
    );
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  }, 60_000);
});

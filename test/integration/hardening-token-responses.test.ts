/**
 * Hostile answers from the provider's token endpoint: each gives a clear error and no stored
 * connection. Each test fails against a naive implementation.
 */
import fc from 'fast-check';
import request from 'supertest';
import { type Harness, connectXt, errorCode, startHarness, sessionJson } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const fakeJwt = (claims: Record<string, unknown>) => `${b64({ alg: 'RS256' })}.${b64(claims)}.c2ln`;
const envelope = (result: unknown, rc: unknown = 0) => JSON.stringify({ rc, mc: 'SUCCESS', ma: [], result });

describe('hostile token responses', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const good = () => ({
    access_token: fakeJwt({ exp: now() + 3600 }),
    refresh_token: fakeJwt({ exp: now() + 86400 }),
    user_id: '1',
    client_id: 'demo-client',
    scope: 'userinfo',
    expires_in: 3600,
  });
  const cases: [string, () => { status?: number; contentType?: string; body: string }][] = [
    ['a wrong content-type', () => ({ contentType: 'text/html', body: envelope(good()) })],
    ['a huge body', () => ({ body: envelope({ ...good(), pad: 'x'.repeat(5 * 1024 * 1024) }) })],
    [
      'deeply nested JSON',
      () => ({ body: `{"rc":0,"mc":"SUCCESS","result":${'['.repeat(20_000)}${']'.repeat(20_000)}}` }),
    ],
    // A digit string is XT.COM's own (answers recorded from its live API carry "rc": "0"); these are not.
    ['rc as a word', () => ({ body: envelope(good(), 'ok') })],
    ['rc as a decimal string', () => ({ body: envelope(good(), '0.0') })],
    ['result null', () => ({ body: envelope(null) })],
    [
      'an access token that is not a JWT',
      () => ({ body: envelope({ ...good(), access_token: 'opaque-token-value' }) }),
    ],
    ['an access token that is a number', () => ({ body: envelope({ ...good(), access_token: 12345 }) })],
    ['exp in the past', () => ({ body: envelope({ ...good(), access_token: fakeJwt({ exp: now() - 10 }) }) })],
    [
      'exp in the far future',
      () => ({ body: envelope({ ...good(), access_token: fakeJwt({ exp: now() + 200 * 365 * 86400 }) }) }),
    ],
    ['a client_id that is not ours', () => ({ body: envelope({ ...good(), client_id: 'someone-else' }) })],
    ['an empty body', () => ({ body: '' })],
    [
      'JSON with // comments, as in the documents',
      () => ({ body: envelope(good()).replace('"scope"', '//x\n"scope"') }),
    ],
    // A redirect is never followed, and its body is not an answer either; nor is an odd 2xx's… 3xx.
    ['tokens in the body of a 302', () => ({ status: 302, body: envelope(good()) })],
    ['tokens in the body of a 304-like 399', () => ({ status: 399, body: envelope(good()) })],
    [
      "both envelope shapes at once (which wins is anybody's guess)",
      () => ({
        body: JSON.stringify({ rc: 0, mc: 'SUCCESS', returnCode: 1, error: { code: 'AUTH_103' }, result: good() }),
      }),
    ],
  ];
  test.each(cases)('%s → a clear error and no stored connection', async (_name, response) => {
    h = await startHarness();
    h.xt.respondNextWith(response());
    const res = await connectXt(h.agent);
    expect(res.status).toBe(502);
    expect(errorCode(res.text)).toBe('provider_bad_response');
    expect(res.text).toContain('href="/auth/xt/login"');
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(false);
  });

  test('rc as a digit string ("0"), as recorded from the live API, is a success like rc 0', async () => {
    h = await startHarness();
    h.xt.respondNextWith({ body: envelope(good(), '0') });
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('a "success" that names an AUTH_ code, in either shape, is our misconfiguration, as on the user API; nothing is stored', async () => {
    h = await startHarness();
    for (const body of [
      JSON.stringify({ rc: 0, mc: 'AUTH_103', ma: [], result: good() }),
      JSON.stringify({
        returnCode: 0,
        msgInfo: 'success',
        error: { code: 'AUTH_103', msg: 'sign error' },
        result: good(),
      }),
    ]) {
      const agent = request.agent(h.built.app);
      h.xt.respondNextWith({ body });
      const res = await connectXt(agent);
      expect(res.status).toBe(502);
      expect(errorCode(res.text)).toBe('provider_misconfigured');
      expect(sessionJson(await agent.get('/api/session')).connected).toBe(false);
    }
  });

  test('a well-formed response still connects (the cases above fail for their own reason)', async () => {
    h = await startHarness();
    h.xt.respondNextWith({ body: envelope(good()) });
    expect((await connectXt(h.agent)).status).toBe(303);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('property: any JSON as `result` gives a 303 or a 502, never a 500, and connects only with a usable token', async () => {
    h = await startHarness();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            { access_token: fc.oneof(fc.string(), fc.jsonValue()), client_id: fc.constantFrom('demo-client', 'x') },
            { requiredKeys: [] },
          ),
        ),
        async (result) => {
          const agent = request.agent(h.built.app);
          h.xt.respondNextWith({ body: envelope(result) });
          const res = await connectXt(agent);
          expect([303, 502]).toContain(res.status);
          const connected = sessionJson(await agent.get('/api/session')).connected;
          expect(connected).toBe(res.status === 303);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});

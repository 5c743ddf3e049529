import { Writable } from 'node:stream';
import axios from 'axios';
import { Scrubber, createLogger, safeUrl } from '../../src/logger.js';

function capture() {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, dest };
}

describe('secret scrubbing', () => {
  const SECRET = 'S3cr3t-client-secret-value';
  const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';

  test('strings lose secret query parameters, JWTs and registered literals', () => {
    const s = new Scrubber();
    s.add(SECRET);
    const out = s.string(
      `GET https://sapi.xt.com/t?client_id=a&client_secret=${SECRET}&code=abc&refresh_token=${JWT} also ${SECRET} and ${encodeURIComponent(SECRET + '/')}`,
    );
    expect(out).not.toContain(SECRET);
    expect(out).not.toContain('code=abc');
    expect(out).not.toContain(JWT);
    expect(out).toContain('client_id=a');
  });

  test('an axios error logged whole leaks nothing', async () => {
    const { lines, dest } = capture();
    const { logger } = createLogger({ level: 'debug', secrets: [SECRET], destination: dest });
    let err: unknown;
    try {
      await axios.get(
        `http://127.0.0.1:1/public/uaa/oauth2/token?client_id=a&client_secret=${SECRET}&grant_type=authorization_code&code=the-code`,
        {
          timeout: 500,
        },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeDefined();
    logger.error(
      { err, error: err, nested: { deeper: { config: (err as { config?: unknown }).config } } },
      `failed: ${String(err)}`,
    );
    logger.debug(err as object);
    logger.info({ access_token: JWT, headers: { authorization: `Bearer ${JWT}` } }, 'tokens');
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    const all = lines.join('');
    expect(all.length).toBeGreaterThan(100);
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain('the-code');
    expect(all).not.toContain(JWT);
  });

  test('safeUrl: a request target in absolute form is logged as its path, with the subject hidden all the same', () => {
    expect(safeUrl('http://localhost:3300/v1/subjects/alice.absolute/connections')).toBe(
      '/v1/subjects/:sub/connections',
    );
    expect(safeUrl('HTTPS://h/V1/Subjects/bob/xt/spot?x=1')).toBe('/V1/Subjects/:sub/xt/spot?x=…');
    expect(safeUrl('/v1/subjects/carol')).toBe('/v1/subjects/:sub');
  });

  test('safeUrl: a near-miss spelling of a /v1 path (a base URL ending in /, a doubled slash) hides the subject too', () => {
    for (const [url, logged] of [
      ['//v1/subjects/secret-subject-1/connections', '//v1/subjects/:sub/connections'],
      ['/v1//subjects/42/xt/spot', '/v1//subjects/:sub/xt/spot'],
      ['/v1/subjects//42', '/v1/subjects//:sub'],
      ['/v1/./subjects/dave', '/v1/./subjects/:sub'],
      ['http://h//V1/SUBJECTS/erin?x=1', '//V1/SUBJECTS/:sub?x=…'],
    ]) {
      expect(safeUrl(url)).toBe(logged);
    }
  });

  test('safeUrl keeps keys and hides values', () => {
    expect(safeUrl('/auth/xt/callback?code=abc&state=def')).toBe('/auth/xt/callback?code=…&state=…');
    expect(safeUrl('/healthz')).toBe('/healthz');
  });
});

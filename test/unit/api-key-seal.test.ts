/**
 * Issue 26 §2, the parts without a server: SERVICE_API_KEY_RECIPIENT's checks (what starts and
 * what stops the start, never echoing the value) and the sealing of XT.COM's api-key answer in
 * each place its documents leave open, failing closed where it cannot be sealed.
 */
import { calculateJwkThumbprint } from 'jose';
import { ConfigError, type Env, loadConfig } from '../../src/config/index.js';
import { parseApiKeyRecipient } from '../../src/config/apiKeyRecipient.js';
import { AppError } from '../../src/errors.js';
import { COMPACT_JWE, sealApiKeyAnswer } from '../../src/shared/apiKeySeal.js';
import { BASE_ENV } from '../helpers/harness.js';
import { openSealed, recipientPair } from '../helpers/apiKeyRecipient.js';

const KEY = 'k'.repeat(32);
const CREATION: Env = {
  SERVICE_API_KEYS: `a:${KEY}`,
  SERVICE_XT_API_ALLOW: 'POST /user/account/api-key',
  SERVICE_ALLOW_API_KEY_CREATION: 'true',
};
const load = (extra: Env) => loadConfig({ ...BASE_ENV, XT_ENABLED: 'false', ...CREATION, ...extra });
const problems = (extra: Env): string[] => {
  try {
    load(extra);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe('SERVICE_API_KEY_RECIPIENT', () => {
  test('an EC P-256 key seals with ECDH-ES+A256KW, an RSA one with RSA-OAEP-256; kid or the RFC 7638 thumbprint', async () => {
    const ec = recipientPair('EC');
    const r1 = load({ SERVICE_API_KEY_RECIPIENT: ec.env }).integration.service?.apiKeyRecipient;
    expect([r1?.alg, r1?.kid]).toEqual(['ECDH-ES+A256KW', await calculateJwkThumbprint(ec.publicJwk as never)]);
    const rsa = recipientPair('RSA', { kid: 'institution-2026' });
    const r2 = load({ SERVICE_API_KEY_RECIPIENT: rsa.env }).integration.service?.apiKeyRecipient;
    expect([r2?.alg, r2?.kid]).toEqual(['RSA-OAEP-256', 'institution-2026']);
    const big = recipientPair('RSA', { bits: 3072 });
    expect(load({ SERVICE_API_KEY_RECIPIENT: big.env }).integration.service?.apiKeyRecipient?.alg).toBe('RSA-OAEP-256');
  });

  test('SERVICE_ALLOW_API_KEY_CREATION=true without a recipient stops the start (a deliberate change)', () => {
    expect(problems({}).join('\n')).toMatch(/SERVICE_ALLOW_API_KEY_CREATION: needs SERVICE_API_KEY_RECIPIENT/);
    // Without creation, no recipient is needed; and one without SERVICE_API_KEYS is a problem.
    expect(
      problems({ SERVICE_ALLOW_API_KEY_CREATION: 'false', SERVICE_XT_API_ALLOW: 'GET /spot/v4/balances' }),
    ).toEqual([]);
    expect(
      problems({ SERVICE_API_KEYS: '', SERVICE_XT_API_ALLOW: '', SERVICE_API_KEY_RECIPIENT: recipientPair('EC').env }),
    ).toEqual(['SERVICE_API_KEYS: required when SERVICE_API_KEY_RECIPIENT is set']);
  });

  const ec = () => recipientPair('EC').publicJwk;
  const refused: [string, () => string, RegExp][] = [
    ['a private EC JWK', () => JSON.stringify(recipientPair('EC').privateJwk), /holds a private key/],
    ['a private RSA JWK', () => JSON.stringify(recipientPair('RSA').privateJwk), /holds a private key/],
    [
      'an RSA key of 1024 bits',
      () => recipientPair('RSA', { bits: 1024 }).env,
      /at least 2048 bits \(this one has 1024\)/,
    ],
    // e = 1 makes RSA the identity: the content key would be merely OAEP-padded (found by an attack).
    ['an RSA key with e = 1', () => JSON.stringify({ ...recipientPair('RSA').publicJwk, e: 'AQ' }), /exponent/],
    ['an RSA key with e = 3', () => JSON.stringify({ ...recipientPair('RSA').publicJwk, e: 'Aw' }), /exponent/],
    ['an RSA key with an even e', () => JSON.stringify({ ...recipientPair('RSA').publicJwk, e: 'AQAC' }), /exponent/],
    ['a P-384 key', () => recipientPair('P-384').env, /curve P-256/],
    ['a symmetric key', () => JSON.stringify({ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' }), /private key/],
    ['an OKP key', () => JSON.stringify({ kty: 'OKP', crv: 'X25519', x: 'AAAA' }), /EC \(P-256\) or RSA/],
    ['a signing key', () => JSON.stringify({ ...ec(), use: 'sig' }), /"use" other than "enc"/],
    ['another alg', () => JSON.stringify({ ...ec(), alg: 'ECDH-ES' }), /"alg" must be "ECDH-ES\+A256KW"/],
    ['a point off the curve', () => JSON.stringify({ ...ec(), y: ec().x }), /not a valid EC public key/],
    ['garbage', () => 'not json {', /must be one public key as a JWK/],
    ['a JWK set', () => JSON.stringify({ keys: [ec()] }), /EC \(P-256\) or RSA/],
    ['an array', () => JSON.stringify([ec()]), /must be one public key as a JWK/],
    ['a PEM', () => '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----', /must be one public key as a JWK/],
  ];
  test.each(refused)('%s stops the start, and the value is never echoed', (_what, value, why) => {
    const text = value();
    const found = problems({ SERVICE_API_KEY_RECIPIENT: text }).join('\n');
    expect(found).toMatch(why);
    expect(found).toMatch(/^SERVICE_API_KEY_RECIPIENT: /);
    const parsed = (() => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        return {};
      }
    })();
    for (const v of Object.values(parsed)) if (typeof v === 'string' && v.length > 8) expect(found).not.toContain(v);
    expect(found).not.toContain(text.slice(0, 40));
  });
});

describe('sealing the answer', () => {
  const pairs = [['EC', recipientPair('EC')] as const, ['RSA', recipientPair('RSA')] as const];
  const SECRET = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
  const envelope = (result: unknown) => JSON.stringify({ rc: 0, mc: 'SUCCESS', ma: [], result });
  const recipientOf = (env: string) => parseApiKeyRecipient(env, [])!;

  const shapes: [string, string, (string | number)[]][] = [
    ['result.secretKey', envelope({ accessKey: 'ak', secretKey: SECRET }), ['result', 'secretKey']],
    ['result.secret_key', envelope({ access_key: 'ak', secret_key: SECRET }), ['result', 'secret_key']],
    ['result.apiKey.secretKey', envelope({ apiKey: { secretKey: SECRET } }), ['result', 'apiKey', 'secretKey']],
    ['result[0].secretKey', envelope([{ accessKey: 'ak', secretKey: SECRET }]), ['result', 0, 'secretKey']],
    [
      'secretKey beside result',
      JSON.stringify({ rc: 0, result: { accessKey: 'ak' }, secretKey: SECRET }),
      ['secretKey'],
    ],
    [
      'the returnCode envelope',
      JSON.stringify({ returnCode: '0', result: { apiSecret: SECRET } }),
      ['result', 'apiSecret'],
    ],
    ['under a secret-named object', envelope({ secret: { value: SECRET } }), ['result', 'secret', 'value']],
  ];
  test.each(pairs)('%s: each reading of where the secret sits is sealed, and opens to it', async (kind, pair) => {
    for (const [what, body, at] of shapes) {
      const out = await sealApiKeyAnswer(body, recipientOf(pair.env));
      expect([what, out.includes(SECRET)]).toEqual([what, false]);
      const jwe = at.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], JSON.parse(out));
      expect(jwe).toMatch(COMPACT_JWE);
      const opened = await openSealed(jwe as string, pair);
      expect(opened.secret).toBe(SECRET);
      expect(opened.header).toMatchObject({ enc: 'A256GCM', alg: kind === 'EC' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256' });
      expect(typeof opened.header.kid).toBe('string');
    }
  });

  test('the rest of the answer is kept as XT.COM sent it', async () => {
    const out = await sealApiKeyAnswer(
      envelope({ accessKey: 'ak-1', secretKey: SECRET }),
      recipientOf(recipientPair('EC').env),
    );
    const o = JSON.parse(out) as { rc: number; mc: string; ma: unknown[]; result: Record<string, unknown> };
    expect([o.rc, o.mc, o.ma, o.result.accessKey, Object.keys(o.result)]).toEqual([
      0,
      'SUCCESS',
      [],
      'ak-1',
      ['accessKey', 'secretKey'],
    ]);
  });

  test('a business refusal without a secret passes unchanged in content', async () => {
    const refusal = JSON.stringify({ rc: 1, mc: 'API_KEY_LIMIT', ma: [], result: null });
    expect(JSON.parse(await sealApiKeyAnswer(refusal, recipientOf(recipientPair('EC').env)))).toEqual(
      JSON.parse(refusal),
    );
  });

  const unsealable: [string, string][] = [
    ['not JSON', `accessKey=ak\nsecretKey=${SECRET}`],
    ['not a JSON object', JSON.stringify([SECRET])],
    ['a success without a recognisable secret', envelope(`ak:${SECRET}`)],
    ['a success without a recognisable secret', envelope({ accessKey: 'ak', sk: SECRET })],
    ['a secret that is not a string', envelope({ accessKey: 'ak', secretKey: 1234567890123456 })],
    ['the secret also sits elsewhere in the answer', envelope({ secretKey: SECRET, note: `key ${SECRET}` })],
    ['nested too deeply', envelope(JSON.parse(`${'{"a":'.repeat(40)}{"secretKey":"${SECRET}"}${'}'.repeat(40)}`))],
  ];
  test.each(unsealable)('fails closed: %s (a 502, nothing of the answer in the error)', async (reason, body) => {
    const err = await sealApiKeyAnswer(body, recipientOf(recipientPair('EC').env)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('provider_bad_response');
    expect((err as AppError).detail.reason).toBe(`api-key answer not sealed: ${reason}`);
    expect(JSON.stringify({ ...(err as AppError), message: (err as Error).message })).not.toContain(SECRET);
  });
});

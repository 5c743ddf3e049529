/**
 * openApiKeySecret: opens the `secretKey` the app sealed to SERVICE_API_KEY_RECIPIENT, with the
 * private key as a JWK, a KeyObject or a CryptoKey, for EC P-256 and RSA recipients; and refuses
 * what it must not open. The round trip goes through the real app and its XT.COM stand-in.
 */
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { CompactEncrypt, importJWK } from 'jose';
import { openApiKeySecret } from '../src/index.js';
import { type RecipientPair, recipientPair } from '../../../test/helpers/apiKeyRecipient.js';
import { type RunningApp, openLink, startApp } from './app.js';

const ALLOW = 'GET /spot/v4/balances,POST /user/account/api-key';

async function sealedFromApp(pair: RecipientPair): Promise<{ jwe: string; issued: string[] }> {
  const app: RunningApp = await startApp({
    SERVICE_XT_API_ALLOW: ALLOW,
    SERVICE_ALLOW_API_KEY_CREATION: 'true',
    SERVICE_API_KEY_RECIPIENT: pair.env,
  });
  try {
    const xc = app.client();
    expect((await openLink(await xc.mintLinkUrl({ sub: 'seal-1' }))).status).toBe(303);
    const answer = (await xc.xt.post('seal-1', '/user/account/api-key')) as { result: { secretKey: string } };
    return { jwe: answer.result.secretKey, issued: app.h.xt.issued() };
  } finally {
    await app.close();
  }
}

test.each(['EC', 'RSA'] as const)(
  '%s: the secret the app sealed opens with the private JWK, KeyObject or CryptoKey',
  async (kind) => {
    const pair = recipientPair(kind);
    const { jwe, issued } = await sealedFromApp(pair);
    const secret = await openApiKeySecret(jwe, pair.privateJwk);
    expect(issued).toContain(secret);
    expect(jwe).not.toContain(secret);
    expect(await openApiKeySecret(jwe, pair.privateKey)).toBe(secret);
    const alg = kind === 'EC' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256';
    const cryptoKey = (await importJWK(pair.privateJwk, alg)) as CryptoKey;
    expect(await openApiKeySecret(jwe, cryptoKey)).toBe(secret);
  },
);

describe('refusals', () => {
  const pair = recipientPair('EC');
  const seal = (alg: string, enc: string, key: unknown = pair.privateKey) =>
    new CompactEncrypt(new TextEncoder().encode('s3cr3t')).setProtectedHeader({ alg, enc }).encrypt(key as CryptoKey);
  const publicKey = () => importJWK(pair.publicJwk, 'ECDH-ES+A256KW');

  test('a public JWK, another key, a tampered or malformed JWE', async () => {
    const jwe = await seal('ECDH-ES+A256KW', 'A256GCM', await publicKey());
    expect(await openApiKeySecret(jwe, pair.privateJwk)).toBe('s3cr3t');
    await expect(openApiKeySecret(jwe, pair.publicJwk)).rejects.toThrow(/private key/);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await expect(openApiKeySecret(jwe, other)).rejects.toThrow();
    const parts = jwe.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    await expect(openApiKeySecret(parts.join('.'), pair.privateKey)).rejects.toThrow();
    await expect(openApiKeySecret('a.b.c', pair.privateKey)).rejects.toThrow(/not a compact JWE/);
  });

  test('another algorithm (dir, A128GCM) is refused rather than opened', async () => {
    const dir = await seal('dir', 'A256GCM', webcrypto.getRandomValues(new Uint8Array(32)));
    await expect(openApiKeySecret(dir, pair.privateKey)).rejects.toThrow(/unexpected JWE algorithm/);
    const weak = await seal('ECDH-ES+A256KW', 'A128GCM', await publicKey());
    await expect(openApiKeySecret(weak, pair.privateKey)).rejects.toThrow();
  });
});

/**
 * Issue 26 §2, against the real app and the XT.COM stand-in: an API key created through
 * `POST /v1/subjects/{sub}/xt/user/account/api-key` comes back with its `secretKey` as a compact
 * JWE that opens, with the institution's private key (EC P-256 and RSA), to exactly the secret the
 * stand-in handed out, wherever XT.COM's answer holds it; an answer that cannot be sealed is a 502
 * with nothing of it. The clear secrets are then searched for in every answer, every log line
 * (LOG_LEVEL debug), the store (the SQLite files' bytes, -wal included; every Redis value) and
 * the /metrics output. The browser gateway never reaches the path, and a start without a proper
 * recipient is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createClient } from 'redis';
import request from 'supertest';
import type { ApiKeyAnswerShape } from '../../standins/xt/apiKey.js';
import { internalListener } from '../../src/routes/internal.js';
import { COMPACT_JWE } from '../../src/shared/apiKeySeal.js';
import { appChild } from '../helpers/child.js';
import { type Harness, SESSION_SECRET, TEST_SECRET, connectXt, startHarness, tempDir } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { type RecipientPair, openSealed, recipientPair } from '../helpers/apiKeyRecipient.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const KEY = 'seal-test-key-0123456789abcdef0123456789';
const URL_OF = (sub: string) => `/v1/subjects/${sub}/xt/user/account/api-key`;
const SEALABLE: ApiKeyAnswerShape[] = ['result', 'snake', 'nested', 'list', 'beside'];
const UNSEALABLE: ApiKeyAnswerShape[] = ['copied', 'numeric', 'unnamed', 'bare', 'text'];

const serviceEnv = (pair: RecipientPair, extra: Record<string, string>) =>
  linkEnv({
    SERVICE_API_KEYS: `institution:${KEY}`,
    SERVICE_XT_API_ALLOW: 'GET /spot/v4/balances,POST /user/account/api-key',
    SERVICE_ALLOW_API_KEY_CREATION: 'true',
    SERVICE_API_KEY_RECIPIENT: pair.env,
    LOG_LEVEL: 'debug',
    ...extra,
  });

/** Every string in an answer that looks like a compact JWE. */
function sealedValues(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string' && COMPACT_JWE.test(value)) found.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) sealedValues(v, found);
  return found;
}

/** Every file under `dir` (the SQLite database, its -wal and -shm), as bytes. */
function filesUnder(dir: string): { name: string; bytes: Buffer }[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ name: e.name, bytes: fs.readFileSync(path.join(e.parentPath, e.name)) }));
}

/** What reads every value of a Redis type (DUMP is not enough: it may compress a string). */
const READ: Record<string, (k: string) => string[]> = {
  string: (k) => ['GET', k],
  hash: (k) => ['HGETALL', k],
  list: (k) => ['LRANGE', k, '0', '-1'],
  set: (k) => ['SMEMBERS', k],
  zset: (k) => ['ZRANGE', k, '0', '-1', 'WITHSCORES'],
  stream: (k) => ['XRANGE', k, '-', '+'],
};

/** Every key and value in Redis, as text. */
async function redisText(url: string): Promise<string> {
  const client = createClient({ url });
  await client.connect();
  try {
    const parts: string[] = [];
    let cursor = '0';
    for (let round = 0; round < 10_000; round++) {
      const [next, keys] = await client.sendCommand<[string, string[]]>(['SCAN', cursor, 'COUNT', '500']);
      for (const k of keys) {
        const type = await client.sendCommand<string>(['TYPE', k]);
        const read = READ[type];
        if (!read) throw new Error(`a Redis value of type ${type} the scan cannot read`);
        parts.push(k, JSON.stringify(await client.sendCommand(read(k))));
      }
      cursor = next;
      if (cursor === '0') break;
    }
    return parts.join('\n');
  } finally {
    await client.close();
  }
}

const cases = [
  ['EC', 'sqlite'],
  ['RSA', 'sqlite'],
  ['RSA', 'redis'],
] as const;

describe.each(cases)('%s recipient, %s store', (kind, store) => {
  const pair = recipientPair(kind, kind === 'RSA' ? { kid: 'institution-rsa-2026' } : {});
  const dataDir = tempDir('xtc-seal-');
  let redis: RedisServer | undefined;
  let h: Harness;
  const answers: string[] = [];

  beforeAll(async () => {
    redis = store === 'redis' ? await startRedis() : undefined;
    const storeEnv: Record<string, string> = redis
      ? { SESSION_STORE: 'redis', REDIS_URL: redis.url }
      : { SESSION_STORE: 'sqlite' };
    h = await startHarness({ env: serviceEnv(pair, { DATA_DIR: dataDir, ...storeEnv }) });
    expect((await connectXt(request.agent(h.built.app), { link: await linkToken('seal-1') })).status).toBe(303);
  });
  afterAll(async () => {
    await h?.close(); // its own scan: no issued secret (API secrets included) in any log line
    await redis?.stop();
  });

  const create = async () => {
    const res = await request(h.built.app).post(URL_OF('seal-1')).set('Authorization', `Bearer ${KEY}`);
    answers.push(res.text);
    return res;
  };

  test.each(SEALABLE)(
    'XT.COM answers with the secret in its "%s" place: sealed, and it opens to exactly it',
    async (shape) => {
      h.xt.options.apiKeyAnswerShape = shape;
      for (const envelope of ['rc', 'returnCode'] as const) {
        h.xt.options.envelopeShape = envelope;
        const res = await create();
        const issued = h.xt.apiKeySecrets().at(-1)!;
        expect(res.text).not.toContain(issued);
        // The stand-in's returnCode restatement keeps `result` only: "beside" then is a success
        // without a secret, which fails closed (XT.COM made a key nobody can see).
        if (shape === 'beside' && envelope === 'returnCode') {
          expect(res.status).toBe(502);
          continue;
        }
        expect(res.status).toBe(200);
        const sealed = sealedValues(res.body);
        expect(sealed).toHaveLength(1);
        const opened = await openSealed(sealed[0]!, pair);
        expect(opened.secret).toBe(issued);
        expect(opened.header).toMatchObject({
          alg: kind === 'EC' ? 'ECDH-ES+A256KW' : 'RSA-OAEP-256',
          enc: 'A256GCM',
          kid: pair.publicJwk.kid ?? h.config.integration.service?.apiKeyRecipient?.kid,
        });
      }
      h.xt.options.envelopeShape = 'rc';
    },
  );

  test.each(UNSEALABLE)(
    'an answer that cannot be sealed ("%s") fails closed: 502, nothing of it passes',
    async (shape) => {
      h.xt.options.apiKeyAnswerShape = shape;
      const res = await create();
      expect([res.status, (res.body as { error?: { code?: string } }).error?.code]).toEqual([
        502,
        'provider_bad_response',
      ]);
      expect(res.text).not.toContain(h.xt.apiKeySecrets().at(-1)!);
      expect(sealedValues(res.body)).toEqual([]);
      h.xt.options.apiKeyAnswerShape = 'result';
    },
  );

  test('the browser gateway never reaches the path, whatever the method or letter case', async () => {
    const agent = request.agent(h.built.app);
    expect((await connectXt(agent)).status).toBe(303);
    const calls = h.xt.apiLog().length;
    const csrf: string | undefined = (await agent.get('/api/session')).headers['x-csrf-token'];
    for (const p of ['/user/account/api-key', '/USER/account/Api-Key', '/user/account/api-key.json']) {
      const res = await agent
        .post(`/api/xt${p}`)
        .set('X-CSRF-Token', csrf ?? 'x')
        .set('Origin', 'http://127.0.0.1:3999');
      // The allow-list (step 3) answers before the CSRF check (step 4) would.
      expect([p, res.status, (res.body as { error?: { code?: string } }).error?.code]).toEqual([p, 403, 'not_allowed']);
    }
    expect(h.xt.apiLog().length).toBe(calls);
  });

  test('no clear secret in any answer, log line (debug), metric or byte of the store', async () => {
    const secrets = h.xt.apiKeySecrets();
    expect(secrets.length).toBe(SEALABLE.length * 2 + UNSEALABLE.length);
    const metrics = (await request(internalListener(h.built.ctx)).get('/metrics')).text;
    expect(metrics).toMatch(/xtc_xt_api_requests_total/);
    const lines = h.logs.lines;
    expect(lines.some((l) => l.includes('"level":20'))).toBe(true); // debug lines were written
    const store = redis
      ? [{ name: 'redis', bytes: Buffer.from(await redisText(redis.url), 'utf8') }]
      : filesUnder(dataDir).filter((f) => f.name.startsWith('xt-connect'));
    if (!redis) expect(store.map((f) => f.name)).toEqual(expect.arrayContaining(['xt-connect.sqlite']));
    expect(store.reduce((n, f) => n + f.bytes.length, 0)).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(answers.filter((a) => a.includes(s))).toEqual([]);
      expect(lines.filter((l) => l.includes(s))).toEqual([]);
      expect(metrics.includes(s)).toBe(false);
      for (const f of store) expect([f.name, f.bytes.includes(Buffer.from(s, 'utf8'))]).toEqual([f.name, false]);
    }
  });
});

describe('the start is refused without a proper recipient', () => {
  const env = (extra: Record<string, string>) => ({
    NODE_ENV: 'test',
    SESSION_SECRET,
    SESSION_STORE: 'memory',
    XT_CLIENT_ID: 'demo-client',
    XT_CLIENT_SECRET: TEST_SECRET,
    SERVICE_API_KEYS: `institution:${KEY}`,
    SERVICE_XT_API_ALLOW: 'POST /user/account/api-key',
    SERVICE_ALLOW_API_KEY_CREATION: 'true',
    ...extra,
  });

  test('no recipient: the listed problem says what is needed', async () => {
    const child = appChild(0, env({}));
    await expect(child.start()).rejects.toThrow(
      /exited at start \(1\)[\s\S]*SERVICE_ALLOW_API_KEY_CREATION: needs SERVICE_API_KEY_RECIPIENT/,
    );
  });

  test('a private JWK: refused, and none of it is echoed', async () => {
    const pair = recipientPair('EC');
    const child = appChild(0, env({ SERVICE_API_KEY_RECIPIENT: JSON.stringify(pair.privateJwk) }));
    await expect(child.start()).rejects.toThrow(
      /exited at start \(1\)[\s\S]*SERVICE_API_KEY_RECIPIENT: holds a private key/,
    );
    expect(child.output()).not.toContain(String(pair.privateJwk.d));
    expect(child.output()).not.toContain(KEY);
  });
});

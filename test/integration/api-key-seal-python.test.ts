/**
 * The integration guide's Python example (docs/integration.md, "Open it in Python"), run as
 * written with Debian's python3-jwcrypto (scripts/test-deps.sh installs it) against the answers
 * the real app gives, for an EC and an RSA recipient whose private key is openssl-style PEM: the
 * documented way to open a sealed API secret works, and opens to exactly the stand-in's secret.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { ROOT } from '../../src/app.js';
import { connectXt, startHarness, tempDir } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { recipientPair } from '../helpers/apiKeyRecipient.js';

const PYTHON = '/usr/bin/python3';
const KEY = 'python-seal-key-0123456789abcdef0123456789';

/** The guide's Python block, as written. */
function guideSnippet(): string {
  const guide = fs.readFileSync(path.join(ROOT, 'docs', 'integration.md'), 'utf8');
  const at = guide.indexOf('**Open it in Python**');
  const m = /```python\n([\s\S]*?)```/.exec(guide.slice(at));
  if (at < 0 || !m) throw new Error('docs/integration.md lost its Python example');
  return m[1]!;
}

test('python3-jwcrypto is installed (scripts/test-deps.sh)', () => {
  expect(() => execFileSync(PYTHON, ['-c', 'import jwcrypto'], { stdio: 'pipe' })).not.toThrow();
});

test.each(['EC', 'RSA'] as const)('%s: the guide’s Python opens the secret the app sealed', async (kind) => {
  const pair = recipientPair(kind);
  const h = await startHarness({
    env: linkEnv({
      SERVICE_API_KEYS: `institution:${KEY}`,
      SERVICE_XT_API_ALLOW: 'POST /user/account/api-key',
      SERVICE_ALLOW_API_KEY_CREATION: 'true',
      SERVICE_API_KEY_RECIPIENT: pair.env,
    }),
  });
  try {
    expect((await connectXt(request.agent(h.built.app), { link: await linkToken('py-1') })).status).toBe(303);
    const res = await request(h.built.app)
      .post('/v1/subjects/py-1/xt/user/account/api-key')
      .set('Authorization', `Bearer ${KEY}`);
    expect(res.status).toBe(200);
    const dir = tempDir('xtc-py-');
    fs.writeFileSync(path.join(dir, 'recipient.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    // The snippet reads `answer` (the parsed JSON answer) and leaves the secret in `secret`.
    const script = `import json, sys\nanswer = json.loads(sys.stdin.read())\n${guideSnippet()}\nprint(secret, end="")\n`;
    const out = execFileSync(PYTHON, ['-c', script], { cwd: dir, input: res.text, stdio: 'pipe' }).toString();
    expect(out).toBe(h.xt.apiKeySecrets().at(-1));
  } finally {
    await h.close();
  }
});

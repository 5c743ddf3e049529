/**
 * The client package's types (packages/client/src/schema.ts) are generated from api/openapi.yaml by
 * scripts/gen-client-types.mjs. This regenerates them in memory (`--check`) and fails when the
 * committed copy differs: a contract change must come with `node scripts/gen-client-types.mjs`.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../src/app.js';

test('the committed packages/client/src/schema.ts is what the contract generates', () => {
  let output = '';
  let failed = false;
  try {
    output = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'gen-client-types.mjs'), '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    failed = true;
    output = String((err as { stderr?: unknown }).stderr ?? err);
  }
  expect({ failed, output: output.trim() }).toEqual({
    failed: false,
    output: 'packages/client/src/schema.ts is up to date',
  });
});

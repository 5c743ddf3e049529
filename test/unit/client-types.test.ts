/**
 * The client package's types (packages/client/src/schema.ts) are generated from api/openapi.yaml by
 * scripts/gen-client-types.mjs. This regenerates them in memory (`--check`) and fails when the
 * committed copy differs: a contract change must come with `node scripts/gen-client-types.mjs`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
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

test('the generated types hold what the client builds on: the error table, the link claims, the webhooks', () => {
  const schema = fs.readFileSync(path.join(ROOT, 'packages', 'client', 'src', 'schema.ts'), 'utf8');
  expect(schema).toMatch(/^\/\* eslint-disable max-lines -- generated/);
  for (const name of ['ErrorCode:', 'ServiceError:', 'LinkClaims:', 'ConnectionList:', 'XtAnswer:'])
    expect(schema).toContain(name);
  expect(schema).toContain('export interface webhooks {');
  expect(schema).toContain("'connection.created': {");
  expect(schema).toContain("'connection.ended': {");
  // The catch-all gateway path, with its x-multi-segment parameter and x-other-methods, is still generated.
  expect(schema).toContain("'/v1/subjects/{sub}/xt/{path}': {");
});

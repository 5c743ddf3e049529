/**
 * The contract itself (api/openapi.yaml): a valid OpenAPI 3.1 document by a real validator
 * (@redocly/openapi-core, its `recommended` rules as api/redocly.yaml adjusts them; any problem
 * fails, warnings included), whose examples hold, whose error codes are the error table's, and
 * which the app serves as it is, naming this deployment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lint, lintFromString, loadConfig } from '@redocly/openapi-core';
import { ROOT } from '../../src/app.js';
import { ERRORS } from '../../src/errors.js';
import { servedDocument } from '../../src/routes/openapi.js';
import { DOCUMENT, validatorFor } from '../helpers/contract.js';

const FILE = path.join(ROOT, 'api', 'openapi.yaml');
const config = () => loadConfig({ configPath: path.join(ROOT, 'api', 'redocly.yaml') });
type Json = Record<string, unknown>;
const schemas = (DOCUMENT.components as { schemas: Record<string, Json> }).schemas;

test('api/openapi.yaml is valid OpenAPI 3.1: Redocly finds no problem at all', async () => {
  expect(DOCUMENT.openapi).toBe('3.1.0');
  const problems = await lint({ ref: FILE, config: await config() });
  const lines = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? '?'}`);
  expect(lines).toEqual([]);
});

test('the validator is live: a broken document gets errors', async () => {
  const broken = fs
    .readFileSync(FILE, 'utf8')
    .replace("$ref: '#/components/schemas/SubjectConnections'", "$ref: '#/components/schemas/NoSuchSchema'")
    .replace('    ProviderId:\n', '    ProviderId:\n      nullable: true\n')
    .replace("'204':\n          description: Ended.", "'204':\n          summary: Ended.");
  const problems = await lintFromString({ source: broken, absoluteRef: FILE, config: await config() });
  const errors = problems.filter((p) => p.severity === 'error').map((p) => p.ruleId);
  expect(errors).toEqual(expect.arrayContaining(['no-unresolved-refs', 'struct']));
  expect(errors.length).toBeGreaterThanOrEqual(3);
});

test("the document's version is the package's", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  expect((DOCUMENT.info as { version: string }).version).toBe(pkg.version);
});

test('the ErrorCode enum is exactly the error table (src/errors.ts), in its order', () => {
  expect((schemas.ErrorCode as { enum: string[] }).enum).toEqual(Object.keys(ERRORS));
});

test("docs/integration.md's error table lists exactly the error table's codes", () => {
  const docs = fs.readFileSync(path.join(ROOT, 'docs', 'integration.md'), 'utf8');
  const section = docs.slice(docs.indexOf('### Error codes'));
  const rows = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
  expect(rows).toEqual(Object.keys(ERRORS));
});

/** Every example in the document, with the schema it illustrates and where it is. */
function examples(node: unknown, at: string, out: [string, unknown, unknown][] = []): [string, unknown, unknown][] {
  if (Array.isArray(node)) node.forEach((x, i) => examples(x, `${at}/${i}`, out));
  if (typeof node !== 'object' || node === null) return out;
  const o = node as Json;
  if (o.schema !== undefined && o.examples !== undefined && !Array.isArray(o.examples))
    for (const [name, ex] of Object.entries(o.examples as Record<string, { value: unknown }>))
      out.push([`${at}/examples/${name}`, o.schema, ex.value]);
  if (Array.isArray(o.examples) && (o.type !== undefined || o.properties !== undefined))
    o.examples.forEach((ex, i) => out.push([`${at}/examples/${i}`, o, ex]));
  for (const [k, v] of Object.entries(o)) if (k !== 'examples') examples(v, `${at}/${k}`, out);
  return out;
}

test('every example holds against its schema, strictly (no field the schema lacks)', () => {
  const found = examples(DOCUMENT, '#');
  expect(found.length).toBeGreaterThanOrEqual(10);
  const failures = found.flatMap(([where, schema, value]) => {
    const v = validatorFor(`example ${where}`, schema);
    return v(value) ? [] : [`${where}: ${JSON.stringify(v.errors)}`];
  });
  expect(failures).toEqual([]);
});

test('the served copy is the document, with servers naming PUBLIC_URL, and a strong ETag of its bytes', async () => {
  const { body, etag } = await servedDocument(fs.readFileSync(FILE, 'utf8'), new URL('https://connect.example.com'));
  const served = JSON.parse(body.toString('utf8')) as Json;
  expect(served.servers).toEqual([{ url: 'https://connect.example.com', description: 'This deployment.' }]);
  expect({ ...served, servers: DOCUMENT.servers }).toEqual(DOCUMENT);
  expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
  const again = await servedDocument(fs.readFileSync(FILE, 'utf8'), new URL('https://connect.example.com'));
  expect(again.etag).toBe(etag);
});

test('everything the contract describes is built: no part is marked x-xtc-planned', () => {
  const planned: string[] = [];
  const walk = (node: unknown, at: string) => {
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'x-xtc-planned') planned.push(at);
      else walk(v, `${at}/${k}`);
    }
  };
  walk(DOCUMENT, '#');
  expect(planned).toEqual([]);
});

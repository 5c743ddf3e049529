/**
 * The contract (api/openapi.yaml) as the tests' oracle: `expectContract(answer, method, url)` finds
 * the operation by its path template, then fails when the answer's status is not documented for
 * it, when its content type is not the documented one, when a documented header that is required
 * is missing or a documented header's value does not fit, or when the body does not validate
 * against the documented schema (ajv, JSON Schema 2020-12 with formats, strict: a field the schema
 * lacks, or a missing required field, fails). `validateWebhook(body, headers?)` does the same for a
 * webhook event, found by its `type`.
 *
 * Path templates: `{name}` is one segment, or the rest of the path when the parameter says
 * `x-multi-segment: true`; a concrete path wins over a template (OpenAPI's rule), and literal
 * segments match in any letter case, as Express routes do. A request under /v1 or /api that no
 * operation describes gets the document's `x-unrouted` answers (a 404). Status keys: the exact
 * status, then its range (`4XX`), then `default`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { parse } from 'yaml';
import { ROOT } from '../../src/app.js';

type Json = Record<string, unknown>;

/** The document, as the repository has it (the app serves the same, with its own `servers`). */
export const DOCUMENT = parse(fs.readFileSync(path.join(ROOT, 'api', 'openapi.yaml'), 'utf8')) as Json;

/** What an answer looks like to the check: supertest's response, helpers/rawHttp's RawAnswer, or answerOf(fetch). */
export interface AnswerLike {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** supertest: the body as text. */
  text?: string;
  /** RawAnswer: the body as text (supertest's `body` is the parsed JSON, and is not read). */
  body?: unknown;
}

/** A fetch() Response, read into what expectContract takes. */
export async function answerOf(res: globalThis.Response): Promise<AnswerLike> {
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

const isJson = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Follows `#/…` references of the document (responses, parameters, headers, request bodies). */
function resolve(x: unknown): Json {
  let node = x;
  for (let hops = 0; isJson(node) && typeof node.$ref === 'string'; hops++) {
    if (hops > 10) throw new Error(`reference loop at ${node.$ref}`);
    node = pointer(node.$ref);
  }
  if (!isJson(node)) throw new Error('the document has no object here');
  return node;
}

function pointer(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local references are used: ${ref}`);
  let node: unknown = DOCUMENT;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isJson(node) ? node[key] : undefined;
    if (node === undefined) throw new Error(`no ${ref} in the document`);
  }
  return node;
}

// ---------- schemas: one ajv, the document's components as $defs of one schema ----------

const BASE = 'urn:xt-connect:openapi';
const refTo = (ref: string) => ref.replace(/^#\/components\/schemas\//, `${BASE}#/$defs/`);

/** A copy of `schema` whose component references point into the $defs registered with ajv. */
function absolute(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(absolute);
  if (!isJson(schema)) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? refTo(v) : absolute(v)]),
  );
}

// Strict: an unknown keyword (a typo in the document) is an error. A schema may narrow another that
// it references without repeating its `type` or its `properties` (a `$ref` with a sibling `required`,
// say), hence strictTypes and strictRequired off.
const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  strictTypes: false,
  strictRequired: false,
  allowUnionTypes: true,
});
formats.default(ajv);
ajv.addSchema({ $id: BASE, $defs: absolute(resolve({ $ref: '#/components' }).schemas) as Json });

const compiled = new Map<string, ValidateFunction>();

/** The validator of `schema`, compiled once per place in the document. */
export function validatorFor(where: string, schema: unknown): ValidateFunction {
  let v = compiled.get(where);
  if (!v) {
    v = ajv.compile(absolute(schema) as Json);
    compiled.set(where, v);
  }
  return v;
}

function check(where: string, schema: unknown, value: unknown, what: string): string[] {
  const v = validatorFor(where, schema);
  if (v(value)) return [];
  return (v.errors ?? []).map((e) => `${what}${e.instancePath} ${e.message ?? ''} (${e.schemaPath})`);
}

// ---------- operations ----------

interface Operation {
  template: string;
  method: string;
  op: Json;
}

/** The names of a path's multi-segment parameters (`x-multi-segment: true`), at the path's level or an operation's. */
function multiSegment(item: Json): Set<unknown> {
  const ops = Object.values(item).filter((v): v is Json => isJson(v) && Array.isArray(v.parameters));
  const params = [...((item.parameters as unknown[]) ?? []), ...ops.flatMap((op) => op.parameters as unknown[])];
  return new Set(
    params
      .map(resolve)
      .filter((p) => p.in === 'path' && p['x-multi-segment'] === true)
      .map((p) => p.name),
  );
}

function templateRegExp(template: string, item: Json): RegExp {
  const multi = multiSegment(item);
  const source = template
    .split('/')
    .map((seg) => {
      const m = /^\{(\w+)\}$/.exec(seg);
      if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return multi.has(m[1]) ? '.*' : '[^/]+'; // an empty one reaches the route, which refuses it (400)
    })
    .join('/');
  return new RegExp(`^${source}$`, 'i');
}

/**
 * What `method` reaches on a path: its operation; else the path's `x-other-methods` responses (the
 * 405 of a route that takes only some methods); else, for HEAD, GET's operation (Express answers
 * HEAD with its GET route).
 */
function reached(item: Json, method: string): Json | undefined {
  if (isJson(item[method])) return item[method];
  if (isJson(item['x-other-methods'])) return { responses: item['x-other-methods'] };
  return method === 'head' && isJson(item.get) ? item.get : undefined;
}

/**
 * The operation a request reaches. The paths whose template matches are tried from the most
 * specific (OpenAPI: a concrete path before a templated one): compared segment by segment from the
 * left, a literal beats a `{param}`, which beats a multi-segment one; then the longer template wins.
 * The first that has an operation for the method gives it: a concrete path such as
 * `/api/xt/spot/v4/balances` types some methods, and any other method is answered as the less
 * specific `/api/xt/{path}` answers it. Else the most specific path with `x-other-methods`; else,
 * for HEAD, GET's operation (Express answers HEAD with its GET route).
 */
export function operationFor(method: string, url: string): Operation {
  const urlPath = url.split('?')[0]!;
  const m = method.toLowerCase();
  const paths = DOCUMENT.paths as Record<string, Json>;
  const matching = Object.entries(paths)
    .filter(([template, item]) => templateRegExp(template, item).test(urlPath))
    .sort(([a, x], [b, y]) => moreSpecific(a, x, b, y));
  const found =
    matching.find(([, item]) => isJson(item[m])) ??
    matching.find(([, item]) => isJson(item['x-other-methods'])) ??
    (m === 'head' ? matching.find(([, item]) => isJson(item.get)) : undefined);
  if (!found) return unrouted(m, urlPath);
  const [template, item] = found;
  return { template, method: m, op: reached(item, m)! };
}

/** A segment's rank: 0 a literal, 1 a `{param}` of one segment, 2 a multi-segment `{param}`. */
function ranks(template: string, item: Json): number[] {
  const multi = multiSegment(item);
  return template
    .split('/')
    .filter(Boolean)
    .map((seg) => {
      const p = /^\{(\w+)\}$/.exec(seg);
      return !p ? 0 : multi.has(p[1]!) ? 2 : 1;
    });
}

/** Sorts the more specific of two matching templates first (see operationFor). */
export function moreSpecific(a: string, itemA: Json, b: string, itemB: Json): number {
  const [ra, rb] = [ranks(a, itemA), ranks(b, itemB)];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return rb.length - ra.length;
}

/** A request under /v1 or /api that no operation describes: the document's `x-unrouted` answers for its prefix. */
function unrouted(method: string, urlPath: string): Operation {
  const prefix = /^\/(v1|api)(\/|$)/i.exec(urlPath)?.[1]?.toLowerCase();
  const answers = (DOCUMENT['x-unrouted'] as Json | undefined)?.[`/${prefix}`];
  if (!prefix || !isJson(answers))
    throw new Error(`the contract has no operation for ${method.toUpperCase()} ${urlPath}`);
  return { template: `x-unrouted /${prefix}`, method, op: answers };
}

/** The documented response for `status`: exact, then its range (4XX), then default. */
function responseFor(op: Operation, status: number): [string, Json] | undefined {
  const responses = (op.op.responses ?? {}) as Json;
  for (const key of [String(status), `${String(status)[0]}XX`, 'default'])
    if (responses[key] !== undefined) return [key, resolve(responses[key])];
  return undefined;
}

const headerOf = (a: AnswerLike, name: string): string | undefined => {
  const v = a.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
};

const textOf = (a: AnswerLike): string =>
  typeof a.text === 'string' ? a.text : typeof a.body === 'string' ? a.body : '';

function headerProblems(where: string, response: Json, a: AnswerLike): string[] {
  const problems: string[] = [];
  for (const [name, raw] of Object.entries((response.headers ?? {}) as Json)) {
    if (name.toLowerCase() === 'content-type') continue; // OpenAPI ignores it here: `content` says it
    const header = resolve(raw);
    const value = headerOf(a, name);
    if (value === undefined) {
      if (header.required === true) problems.push(`the required header ${name} is missing`);
      continue;
    }
    problems.push(...check(`${where} header ${name}`, header.schema, value, `header ${name}`));
  }
  return problems;
}

function bodyProblems(where: string, response: Json, a: AnswerLike, method: string): string[] {
  const text = textOf(a);
  const content = response.content as Json | undefined;
  const type = (headerOf(a, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!content) return text === '' ? [] : [`a body (${type || 'no content type'}) where the contract documents none`];
  const media = content[type];
  if (!isJson(media)) return [`content type "${type}" is not documented (${Object.keys(content).join(', ')})`];
  if (method === 'head' || media.schema === undefined) return [];
  let value: unknown = text;
  if (type === 'application/json') {
    try {
      value = JSON.parse(text);
    } catch {
      return ['the body is not JSON'];
    }
  }
  return check(`${where} ${type}`, media.schema, value, 'body');
}

/** Every way `a` departs from the contract for `method url` (empty: it conforms). */
export function contractProblems(a: AnswerLike, method: string, url: string): string[] {
  const op = operationFor(method, url);
  const found = responseFor(op, a.status);
  if (!found) return [`status ${a.status} is not documented for ${op.method.toUpperCase()} ${op.template}`];
  const [key, response] = found;
  const where = `${op.method} ${op.template} ${key}`;
  return [...headerProblems(where, response, a), ...bodyProblems(where, response, a, method.toLowerCase())];
}

/** Fails (throws) unless `a`, the answer to `method url`, is what the contract documents. */
export function expectContract(a: AnswerLike, method: string, url: string): void {
  const problems = contractProblems(a, method, url);
  if (problems.length)
    throw new Error(
      `${method.toUpperCase()} ${url.split('?')[0]} → ${a.status} departs from api/openapi.yaml:\n  ${problems.join('\n  ')}`,
    );
}

// ---------- webhooks ----------

/** Every way a webhook event (its body, raw or parsed, and optionally its headers) departs from the contract. */
export function webhookProblems(body: unknown, headers?: AnswerLike['headers']): string[] {
  const event: unknown = typeof body === 'string' ? JSON.parse(body) : body;
  const type = isJson(event) ? event.type : undefined;
  const hooks = DOCUMENT.webhooks as Record<string, Json>;
  if (typeof type !== 'string' || !isJson(hooks[type])) return [`no webhook "${String(type)}" in the contract`];
  const op = hooks[type].post as Json;
  const schema = (((resolve(op.requestBody).content as Json)['application/json'] as Json).schema ?? {}) as Json;
  const problems = check(`webhook ${type}`, schema, event, 'event');
  if (!headers) return problems;
  for (const p of ((op.parameters as unknown[]) ?? []).map(resolve).filter((x) => x.in === 'header')) {
    const name = String(p.name);
    const value = headerOf({ status: 0, headers }, name);
    if (value === undefined) problems.push(`the header ${name} is missing`);
    else problems.push(...check(`webhook ${type} header ${name}`, p.schema, value, `header ${name}`));
  }
  return problems;
}

/** Fails (throws) unless the event is one the contract documents, as documented. */
export function validateWebhook(body: unknown, headers?: AnswerLike['headers']): void {
  const problems = webhookProblems(body, headers);
  if (problems.length) throw new Error(`a webhook event departs from api/openapi.yaml:\n  ${problems.join('\n  ')}`);
}

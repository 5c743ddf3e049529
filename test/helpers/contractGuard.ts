/**
 * The contract guard: every answer any xt-connect app in a test gives under `/v1` or `/api`, and
 * every webhook the test receiver accepts, is checked against api/openapi.yaml (helpers/contract.ts)
 * without the test asking. test/setup/contract.ts installs it before each integration test file
 * and fails the test during which an answer departed from the contract.
 *
 * How: Express copies `express.application` into every app it creates, so wrapping its `handle`
 * here (before the test file builds its apps) puts a recorder in front of every app, whether a
 * test reaches it through supertest, `app.listen` or `http.createServer(app)`. The recorder wraps
 * the answer's `writeHead`, `write` and `end` to keep the status, the headers and the body; it never
 * changes what the app sends. The answers are checked later (takeViolations), so a test file that
 * never calls /v1 or /api never loads the contract. Nothing here is part of the app: test-only.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import express from 'express';
import onHeaders from 'on-headers';
import type { AnswerLike } from './contract.js';

/** One answer as the app sent it, or one webhook as the receiver accepted it. */
export type Recorded =
  | { kind: 'answer'; method: string; url: string; answer: AnswerLike }
  | { kind: 'webhook'; raw: string; headers: AnswerLike['headers'] }
  | { kind: 'document'; method: string; url: string; missing: string[] };

/**
 * The headers every HTML answer of the app carries: helmet's full set for a document (HSTS aside,
 * which only an https PUBLIC_URL turns on), with the pages' CSP, never the JSON answers' one.
 */
const DOCUMENT_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

/** As the headers of an HTML answer are written: which of the document's security headers it lacks. */
function checkDocument(req: IncomingMessage, res: ServerResponse): void {
  onHeaders(res, function () {
    if (!/^text\/html/i.test(String(this.getHeader('content-type') ?? ''))) return;
    const missing = DOCUMENT_HEADERS.filter((n) => !this.hasHeader(n));
    const csp = String(this.getHeader('content-security-policy') ?? '');
    if (!csp.includes("script-src 'self'") || !csp.includes("frame-ancestors 'none'"))
      missing.push(`the pages' CSP (got "${csp}")`);
    if (missing.length) recorded.push({ kind: 'document', method: req.method ?? 'GET', url: req.url ?? '/', missing });
  });
}

const recorded: Recorded[] = [];

/** The paths the contract covers: under /v1 and /api, matched without regard to case as the app does. */
export const COVERED = /^\/(v1|api)(\/|$|\?)/i;

type Chunk = string | Buffer | Uint8Array;
const toBuffer = (c: Chunk, encoding?: unknown): Buffer =>
  typeof c === 'string'
    ? Buffer.from(c, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
    : Buffer.from(c);

function headersOf(res: ServerResponse, extra: OutgoingHttpHeaders): AnswerLike['headers'] {
  const out: AnswerLike['headers'] = {};
  for (const [name, value] of Object.entries({ ...res.getHeaders(), ...extra })) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

/** Keeps what `res` sends (the status, every header, the body) and records it when it ends. */
function record(req: IncomingMessage, res: ServerResponse): void {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const chunks: Buffer[] = [];
  const extra: OutgoingHttpHeaders = {}; // headers given to writeHead itself are not in getHeaders()
  // The originals, bound to this answer; each wrapper keeps a copy of what passes, then calls its original.
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  res.writeHead = (...args: unknown[]) => {
    const last = args[args.length - 1];
    if (typeof last === 'object' && last !== null && !Array.isArray(last)) Object.assign(extra, last);
    return writeHead(...args);
  };
  res.write = ((chunk: Chunk, ...rest: unknown[]) => {
    if (chunk !== undefined && chunk !== null) chunks.push(toBuffer(chunk, rest[0]));
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    const [chunk, encoding] = args;
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) chunks.push(toBuffer(chunk, encoding));
    const result = end(...args);
    const text = Buffer.concat(chunks).toString('utf8');
    recorded.push({
      kind: 'answer',
      method,
      url,
      answer: { status: res.statusCode, headers: headersOf(res, extra), text },
    });
    return result;
  }) as ServerResponse['end'];
}

let installed = false;

/** Puts the recorder in front of every Express app created from now on (once per test file). */
export function installContractGuard(): void {
  if (installed) return;
  installed = true;
  const proto = express.application as unknown as {
    handle: (req: IncomingMessage, res: ServerResponse, next?: unknown) => void;
  };
  const handle = proto.handle;
  proto.handle = function (
    this: { get?: (name: string) => unknown },
    req: IncomingMessage,
    res: ServerResponse,
    next?: unknown,
  ) {
    // Every HTML answer of xt-connect's app (not the stand-ins'), wherever its path: the full set of a document.
    if (this.get?.('xt-connect') === true && !(res as { __documentGuard?: true }).__documentGuard) {
      (res as { __documentGuard?: true }).__documentGuard = true;
      checkDocument(req, res);
    }
    // Only the top-level app: a mounted sub-app (none in xt-connect) sees a shortened req.url.
    if (COVERED.test(req.url ?? '') && !(res as { __contractGuard?: true }).__contractGuard) {
      (res as { __contractGuard?: true }).__contractGuard = true;
      record(req, res);
    }
    return handle.call(this, req, res, next);
  };
}

/** Records a webhook the test receiver accepted, to be checked with the answers (outside Jest, as in the bench: nothing). */
export function recordWebhook(raw: string, headers: AnswerLike['headers']): void {
  if (installed) recorded.push({ kind: 'webhook', raw, headers });
}

/** Checks and forgets everything recorded so far: one line per departure from the contract. */
export async function takeViolations(): Promise<string[]> {
  const batch = recorded.splice(0, recorded.length);
  if (batch.length === 0) return [];
  const { contractProblems, webhookProblems } = await import('./contract.js');
  const out: string[] = [];
  for (const r of batch) {
    let problems: string[];
    let what: string;
    if (r.kind === 'document') {
      out.push(
        `${r.method} ${r.url.split('?')[0]}: an HTML answer without the document's security headers: ${r.missing.join(', ')}`,
      );
      continue;
    }
    if (r.kind === 'webhook') {
      what = 'a webhook the receiver accepted';
      problems = safely(() => webhookProblems(r.raw, r.headers));
    } else {
      what = `${r.method} ${r.url.split('?')[0]} → ${r.answer.status}`;
      problems = safely(() => contractProblems(r.answer, r.method, r.url));
    }
    if (problems.length) out.push(`${what} departs from api/openapi.yaml:\n    ${problems.join('\n    ')}`);
  }
  return out;
}

function safely(f: () => string[]): string[] {
  try {
    return f();
  } catch (e) {
    return [(e as Error).message];
  }
}

/**
 * One call to xt-connect's service API: the bearer key, JSON in and out, the contract's errors as
 * XtConnectError, and the retry rule. A call marked `retry` (an idempotent one) is tried again on a
 * 429 or 503 after its Retry-After, at most `maxRetries` times and never after waiting longer than
 * MAX_WAIT_S (a longer Retry-After fails at once); with `retryNetwork` also after a failure to get
 * any answer. Every other call is sent exactly once.
 */
import { XtConnectError } from './errors.js';
import { unchangedUrl } from './paths.js';
import type { ClientErrorCode, ServiceScope } from './types.js';

/** The longest wait before a retry, in seconds. */
export const MAX_WAIT_S = 30;
/** The wait before retrying after a network failure (doubling per try), and when a 429/503 names none. */
const NETWORK_BACKOFF_S = 0.25;
const DEFAULT_WAIT_S = 1;

export type Query = Record<string, string | number | boolean | undefined>;

export interface Transport {
  base: string;
  serviceKey: string;
  fetch: typeof globalThis.fetch;
  maxRetries: number;
  /** Waits `ms` (a test may replace it). */
  sleep: (ms: number) => Promise<void>;
}

export interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  /** The path after the base URL, already encoded. */
  path: string;
  query?: Query;
  body?: unknown;
  /** Idempotent: tried again on 429/503. */
  retry: boolean;
  /** Also tried again when no answer came at all (GET only). */
  retryNetwork?: boolean;
  /** An XT.COM call: XT.COM's own refusals (rc/returnCode 1 with a 4xx) become `xt_refused`. */
  xt?: boolean;
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function urlOf(t: Transport, call: Call): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(call.query ?? {})) if (v !== undefined) q.set(k, String(v));
  return unchangedUrl(`${t.base}${call.path}${q.size ? `?${q.toString()}` : ''}`, call.path);
}

/** The answer: its status and parsed JSON body (undefined when empty; the text when it is not JSON). */
interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  /** The body was JSON. */
  json: boolean;
}

async function readAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text === '' ? undefined : text;
  let json = false;
  if (text !== '') {
    try {
      body = JSON.parse(text) as unknown;
      json = true;
    } catch {
      // not JSON: kept as text
    }
  }
  return { status: res.status, headers: res.headers, body, json };
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
export function retryAfterOf(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** XT.COM's business refusal: `rc` or `returnCode` 1 (or "1"). */
const isXtRefusal = (body: unknown) => isObject(body) && [body.rc, body.returnCode].some((c) => c === 1 || c === '1'); // a digit string too, as recorded live

/** The error of a non-2xx answer, from the contract's `{error: {...}}` (ServiceError) when it is one. */
export function errorOf(a: Answer, xt: boolean): XtConnectError {
  const requestId = a.headers.get('x-request-id') ?? undefined;
  const headerWait = retryAfterOf(a.headers.get('retry-after'));
  const e = isObject(a.body) && isObject(a.body.error) ? a.body.error : undefined;
  if (e && typeof e.code === 'string') {
    return new XtConnectError({
      code: e.code as ClientErrorCode,
      status: a.status,
      message: str(e.message),
      retryAfter: typeof e.retryAfter === 'number' ? e.retryAfter : headerWait,
      requestId: str(e.requestId) ?? requestId,
      provider: str(e.provider),
      scope: str(e.scope) as ServiceScope | undefined,
    });
  }
  if (xt && a.status >= 400 && a.status < 500 && isXtRefusal(a.body)) {
    return new XtConnectError({
      code: 'xt_refused',
      status: a.status,
      message: `XT.COM refused the request${isObject(a.body) && str(a.body.mc) ? `: ${str(a.body.mc)}` : ''}`,
      requestId,
      body: a.body,
    });
  }
  const message = `unexpected answer: HTTP ${a.status}`;
  return new XtConnectError({
    code: 'unexpected_response',
    status: a.status,
    message,
    retryAfter: headerWait,
    requestId,
    body: a.body,
  });
}

function networkError(cause: unknown): XtConnectError {
  const message = `no answer from xt-connect: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new XtConnectError({ code: 'network', status: 0, message, cause });
}

async function attempt(t: Transport, call: Call): Promise<Answer | XtConnectError> {
  const headers: Record<string, string> = { authorization: `Bearer ${t.serviceKey}`, accept: 'application/json' };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  const fetchFn = t.fetch; // called as a plain function, as globalThis.fetch expects
  try {
    const res = await fetchFn(urlOf(t, call), {
      method: call.method,
      headers,
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      redirect: 'manual',
    });
    return await readAnswer(res);
  } catch (err) {
    return networkError(err);
  }
}

/** Seconds to wait before trying `call` again after `failure`, or undefined: do not try again. */
function waitBefore(call: Call, failure: XtConnectError, tryNo: number): number | undefined {
  if (failure.code === 'network') return call.retryNetwork ? NETWORK_BACKOFF_S * 2 ** tryNo : undefined;
  if (!call.retry || (failure.status !== 429 && failure.status !== 503)) return undefined;
  const wait = failure.retryAfter ?? DEFAULT_WAIT_S;
  return wait > MAX_WAIT_S ? undefined : wait;
}

/** Sends `call`, tries it again as the rule allows, and resolves the 2xx answer's body; rejects with XtConnectError. */
export async function send(t: Transport, call: Call): Promise<{ status: number; body: unknown; json: boolean }> {
  for (let tryNo = 0; ; tryNo++) {
    const got = await attempt(t, call);
    if (!(got instanceof XtConnectError) && got.status >= 200 && got.status < 300) {
      return { status: got.status, body: got.body, json: got.json };
    }
    const failure = got instanceof XtConnectError ? got : errorOf(got, call.xt ?? false);
    const wait = tryNo < t.maxRetries ? waitBefore(call, failure, tryNo) : undefined;
    if (wait === undefined) throw failure;
    await t.sleep(wait * 1000);
  }
}

/** `send`, for answers the contract says are JSON: a 2xx whose body is not is `unexpected_response`. */
export async function sendJson(t: Transport, call: Call): Promise<unknown> {
  const { status, body, json } = await send(t, call);
  if (!json) {
    throw new XtConnectError({ code: 'unexpected_response', status, message: 'the answer is not JSON', body });
  }
  return body;
}

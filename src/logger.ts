/**
 * Logging with secrets scrubbed at the last moment, whatever path a value took to get here.
 *
 * Three layers, because one is never enough with XT.COM putting the client secret in a URL:
 *  1. errors are serialised by hand (type, code, status, message, stack) and never enumerated,
 *     so an HTTP client's `config.url` or `response` cannot ride along;
 *  2. every object logged is walked, and keys that name a secret are replaced;
 *  3. every string is scanned for `secret=…`-style query parameters, JWTs and the exact
 *     values of configured secrets.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { traceFields } from './shared/tracing.js';

const SECRET_KEYS =
  /^(client_secret|clientsecret|access_token|accesstoken|refresh_token|refreshtoken|id_token|idtoken|token|code_verifier|codeverifier|authorization|cookie|set-cookie|password|secret|session_secret|access-token)$/i;
const SECRET_PARAMS =
  /\b(client_secret|code|refresh_token|access_token|id_token|token|code_verifier|state|nonce)=([^&\s"'#]+)/gi;
const JWT = /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g;
const REDACTED = '[redacted]';

export class Scrubber {
  private readonly literals = new Set<string>();

  /** Registers a literal value (a client secret, say) that must never be printed. */
  add(value: string | undefined): void {
    if (value && value.length >= 4) this.literals.add(value);
  }

  string(s: string): string {
    let out = s.replace(SECRET_PARAMS, (_m, k: string) => `${k}=${REDACTED}`).replace(JWT, REDACTED);
    for (const lit of this.literals) {
      if (out.includes(lit)) out = out.split(lit).join(REDACTED);
      const enc = encodeURIComponent(lit);
      if (enc !== lit && out.includes(enc)) out = out.split(enc).join(REDACTED);
    }
    return out;
  }

  deep(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.string(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > 8) return '[deep]';
    if (value instanceof Error) return serializeError(value, this);
    if (Array.isArray(value)) return value.slice(0, 50).map((v) => this.deep(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEYS.test(k) ? REDACTED : this.deep(v, depth + 1);
    }
    return out;
  }
}

/** An error as a plain object of safe fields. Nothing enumerable on the error is copied. */
export function serializeError(err: unknown, scrub: Scrubber): Record<string, unknown> {
  if (!(err instanceof Error)) {
    // Already serialised (pino runs formatters.log before serializers), or not an error at all.
    if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string')
      return scrub.deep(err) as Record<string, unknown>;
    return { type: typeof err, message: scrub.string(String(err)) };
  }
  const e = err as Error & { code?: unknown; status?: unknown; detail?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: scrub.string(e.message) };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof e.status === 'number') out.status = e.status;
  if (e.detail && typeof e.detail === 'object') out.detail = scrub.deep(e.detail, 6);
  if (e.stack) out.stack = scrub.string(e.stack);
  return out;
}

/** The request line of a URL with every query value hidden: `/auth/xt/callback?code=…&state=…`. */
/** The path and query of a request target, also when it came in absolute form (`GET http://host/path`). */
export function targetPath(url: string): string {
  return url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
}

export function safeUrl(url: string | undefined): string {
  if (!url) return '';
  url = targetPath(url);
  // The service API's paths name the institution's user: logged as `:sub` (the store keeps only an HMAC of it).
  url = url.replace(/(\/subjects\/+)[^/?#]*/gi, '$1:sub'); // wherever it stands: `//v1/subjects/…` too
  const q = url.indexOf('?');
  if (q < 0) return url.slice(0, 512);
  const keys = url
    .slice(q + 1)
    .split('&')
    .map((pair) => pair.split('=')[0]?.slice(0, 40) ?? '')
    .slice(0, 20);
  return `${url.slice(0, Math.min(q, 512))}?${keys.map((k) => `${k}=…`).join('&')}`;
}

/**
 * Scrubs a log record before pino's serialisers run. The `req` and `res` summaries of an access
 * line (http/accessLog.ts: an id, a method, a URL with every query value hidden, a status) are left
 * out of the walk: they hold nothing else, and walking them on every request line costs time.
 */
function scrubRecord(obj: Record<string, unknown>, scrubber: Scrubber): Record<string, unknown> {
  if (!('req' in obj) && !('res' in obj)) return scrubber.deep(obj) as Record<string, unknown>;
  const { req, res, ...rest } = obj;
  const out = scrubber.deep(rest) as Record<string, unknown>;
  if (req !== undefined) out.req = req;
  if (res !== undefined) out.res = res;
  return out;
}

export interface LoggerOptions {
  level: string;
  secrets?: (string | undefined)[];
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): { logger: Logger; scrubber: Scrubber } {
  const scrubber = new Scrubber();
  for (const s of opts.secrets ?? []) scrubber.add(s);
  const logger = pino(
    {
      level: opts.level,
      base: undefined,
      mixin: traceFields, // trace_id and span_id while a span is active (tracing on)
      serializers: {
        err: (e: unknown) => serializeError(e, scrubber),
        error: (e: unknown) => serializeError(e, scrubber),
      },
      formatters: { log: (obj) => scrubRecord(obj, scrubber) },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a) => (typeof a === 'string' ? scrubber.string(a) : a)) as Parameters<typeof method>;
          return method.apply(this, clean);
        },
      },
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
  return { logger, scrubber };
}

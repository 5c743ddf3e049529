/**
 * The signed HTTP call to XT.COM's user APIs: `access-token` plus the validate-* headers
 * (sign.ts), timestamped with XT.COM's clock (clock.ts). One call, no retries and no
 * interpretation of the answer: answer.ts classifies it, and the service (services/xtApi.ts) acts on it.
 *
 * The path and query that are signed are the ones sent: the query's pairs are signed decoded and
 * sent percent-encoded (sign.ts), pairs XT.COM could not read back unambiguously (`&`, `=`, `#`,
 * a repeated key) are refused with a 400 before anything is sent, and the URL is checked to come
 * out of the URL parser unchanged. Nothing secret (token, signature, signed string, secret) leaves
 * this module except on the wire.
 */
import type { XtConfig } from '../../config/xt.js';
import { AppError } from '../../errors.js';
import type { ProviderHttp, RawResponse } from './http.js';
import type { XtClock } from './clock.js';
import { queryProblem, signatureHeaders, wireQuery } from './sign.js';

/** The most a user API answer may weigh; a larger one is cut off and refused. */
export const XT_USER_API_MAX_BYTES = 1024 * 1024;

export type XtMethod = 'GET' | 'POST' | 'DELETE';

export interface XtUserRequest {
  method: XtMethod;
  /** Absolute path on the API host, e.g. /spot/v4/balances. */
  path: string;
  query: readonly (readonly [string, string])[];
  /** The exact JSON bytes to send (and sign). */
  body?: string;
  /** The person's access token. */
  token: string;
}

/** Segments of letters, digits and -._~ only; no empty, `.` or `..` segment. */
const SAFE_PATH = /^(\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._~-]+)+$/;

/** XT.COM's answer, and which reading of XT.COM's clock the request was timestamped with. */
export type XtUserResponse = RawResponse & { clockReading: number };

export type XtSigning = Pick<XtConfig, 'apiUrl' | 'apiKey' | 'apiSecret' | 'signStyle' | 'recvWindowMs'>;

export class XtUserApi {
  constructor(
    private readonly cfg: XtSigning,
    private readonly http: ProviderHttp,
    readonly clock: XtClock,
  ) {}

  /** Stops the clock's periodic reading and closes the idle connections. */
  close(): void {
    this.clock.close();
    this.http.close();
  }

  async send(req: XtUserRequest): Promise<XtUserResponse> {
    const url = this.url(req.path, req.query);
    await this.clock.ready();
    const body = req.body ? req.body : undefined;
    const clockReading = this.clock.generation();
    const headers: Record<string, string> = {
      'access-token': req.token,
      ...signatureHeaders({
        method: req.method,
        path: req.path,
        query: req.query,
        body,
        appKey: this.cfg.apiKey,
        secret: this.cfg.apiSecret,
        recvWindowMs: this.cfg.recvWindowMs,
        timestamp: this.clock.now(),
        style: this.cfg.signStyle,
      }),
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return { ...(await this.http.request({ method: req.method, url, headers, data: body })), clockReading };
  }

  /** The URL to send, refused unless its path and query survive the URL parser byte for byte. */
  private url(path: string, pairs: XtUserRequest['query']): string {
    const refuse = (reason: string) => new AppError('bad_request', { provider: 'xt', detail: { reason } });
    if (!SAFE_PATH.test(path)) throw refuse('invalid XT.COM API path');
    const problem = queryProblem(pairs);
    if (problem) throw refuse(problem);
    const query = wireQuery(pairs);
    const url = this.cfg.apiUrl + path + (query ? `?${query}` : '');
    const parsed = new URL(url);
    const base = new URL(this.cfg.apiUrl);
    if (
      parsed.origin !== base.origin ||
      parsed.pathname !== base.pathname.replace(/\/$/, '') + path ||
      parsed.search !== (query ? `?${query}` : '')
    ) {
      throw refuse('XT.COM API URL would not be sent as signed');
    }
    return url;
  }
}

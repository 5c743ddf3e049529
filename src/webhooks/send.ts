/**
 * One delivery attempt: a signed POST of one event to the institution's endpoint (Standard
 * Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`), and what came of it.
 *
 * Sent with the app's outbound client (axios, shared/outbound.ts): a keep-alive agent, one deadline
 * over the whole exchange, the JSON body byte for byte, no redirect followed, no proxy.
 *
 * Nothing here logs. The outcome carries only a status or an error code, so the caller can log a
 * failure without the URL (its query may hold the institution's own token), the secret or the body.
 * With tracing on, each attempt is a span (webhook.delivery) holding the same: the attempt's number,
 * the outcome, the status or the error code; never the URL, the body, the id or the signature.
 */
import { Webhook } from 'standardwebhooks';
import { type Outbound, TransportFailure, createOutbound, systemCode } from '../shared/outbound.js';
import { type Span, SpanKind, failSpan, inSpan } from '../shared/tracing.js';

export const USER_AGENT = 'xt-connect-webhooks';

/** At most this much of an answer's body is read (and thrown away); the status decides. */
const MAX_ANSWER_BYTES = 4096;

export type SendOutcome =
  /** 2xx: delivered. */
  | { kind: 'delivered'; status: number }
  /** 410 Gone: the institution asks us to stop. */
  | { kind: 'gone'; status: 410 }
  /** Any other status (a redirect included), or no answer: `status` or `code` says which. */
  | { kind: 'failed'; status?: number; code?: string };

export interface SendOptions {
  url: string;
  timeoutMs: number;
  /** Aborts the attempt early (the worker is stopping). */
  signal?: AbortSignal;
  /** The attempt's number (1 for the first), for its span. */
  attempt?: number;
}

/**
 * Signs and POSTs webhook events to one endpoint. With several secrets (WEBHOOK_SECRET, newest
 * first) each request carries one `v1,<sig>` per secret, space separated (Standard Webhooks), so a
 * receiver that verifies with any one of them accepts it: it can switch secrets without losing one.
 */
export class WebhookSender {
  private readonly signers: Webhook[];
  private readonly http: Outbound;

  constructor(secrets: string | readonly string[]) {
    const list = typeof secrets === 'string' ? [secrets] : secrets;
    if (list.length === 0) throw new TypeError('WebhookSender needs at least one secret');
    this.signers = list.map((s) => new Webhook(s));
    this.http = createOutbound({ timeoutMs: 10_000, maxBytes: MAX_ANSWER_BYTES, overflow: 'truncate' });
  }

  /** The Standard Webhooks headers for `body`, signed at `at`. */
  headers(id: string, body: string, at: Date): Record<string, string> {
    return {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.signers.map((s) => s.sign(id, at, body)).join(' '),
    };
  }

  /** One attempt; never throws. A redirect is a failure, never followed: the URL is the one configured. */
  send(id: string, body: string, at: Date, opts: SendOptions): Promise<SendOutcome> {
    const attributes = { 'http.request.method': 'POST', 'webhook.attempt': opts.attempt ?? 1 };
    return inSpan('webhook.delivery', { kind: SpanKind.CLIENT, attributes }, async (span) => {
      const outcome = await this.post(id, body, at, opts);
      if (span) describe(span, outcome);
      return outcome;
    });
  }

  private async post(id: string, body: string, at: Date, opts: SendOptions): Promise<SendOutcome> {
    let status: number;
    try {
      ({ status } = await this.http.request({
        method: 'POST',
        url: opts.url,
        headers: this.headers(id, body, at),
        data: body,
        timeoutMs: opts.timeoutMs,
        signal: opts.signal,
      }));
    } catch (err) {
      return { kind: 'failed', code: failureCode(err) };
    }
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    if (status === 410) return { kind: 'gone', status: 410 };
    return { kind: 'failed', status };
  }

  /** Closes the idle keep-alive connections (at shutdown). */
  close(): void {
    this.http.close();
  }
}

/** The outcome on the attempt's span: delivered, gone or failed, and the status or the error code. */
function describe(span: Span, outcome: SendOutcome): void {
  span.setAttribute('webhook.outcome', outcome.kind);
  if (outcome.status !== undefined) span.setAttribute('http.response.status_code', outcome.status);
  if (outcome.kind === 'failed') failSpan(span, { code: outcome.code ?? String(outcome.status) });
}

/** A short, URL-free name for why a request got no answer: `timeout`, `aborted`, or the socket's code (ECONNREFUSED…). */
export function failureCode(err: unknown): string {
  if (err instanceof TransportFailure) {
    if (err.kind === 'timeout' || err.kind === 'aborted') return err.kind;
    if (err.transport && err.transport !== 'unknown') return err.transport;
  }
  const code = systemCode(err);
  return code === 'unknown' ? 'network_error' : code;
}

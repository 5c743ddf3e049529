/**
 * One delivery attempt: a signed POST of one event to the institution's endpoint (Standard
 * Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`), and what came of it.
 *
 * Nothing here logs. The outcome carries only a status or an error code, so the caller can log a
 * failure without the URL (its query may hold the institution's own token), the secret or the body.
 */
import { Webhook } from 'standardwebhooks';

export const USER_AGENT = 'xt-connect-webhooks';

/** At most this much of an answer's body is read (and thrown away), so the connection can be reused. */
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
}

/** Signs and POSTs webhook events to one endpoint. */
export class WebhookSender {
  private readonly signer: Webhook;

  constructor(secret: string) {
    this.signer = new Webhook(secret);
  }

  /** The Standard Webhooks headers for `body`, signed at `at`. */
  headers(id: string, body: string, at: Date): Record<string, string> {
    return {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.signer.sign(id, at, body),
    };
  }

  /** One attempt; never throws. A redirect is a failure (`redirect: 'manual'`): the URL is the one configured. */
  async send(id: string, body: string, at: Date, opts: SendOptions): Promise<SendOutcome> {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    let res: Response;
    try {
      res = await fetch(opts.url, { method: 'POST', headers: this.headers(id, body, at), body, redirect: 'manual', signal });
    } catch (err) {
      return { kind: 'failed', code: failureCode(err, timeout) };
    }
    await discardAnswer(res);
    if (res.status >= 200 && res.status < 300) return { kind: 'delivered', status: res.status };
    if (res.status === 410) return { kind: 'gone', status: 410 };
    return { kind: 'failed', status: res.status };
  }
}

/** A short, URL-free name for why a request got no answer: `timeout`, `aborted`, or the socket's code (ECONNREFUSED…). */
export function failureCode(err: unknown, timeout?: AbortSignal): string {
  if (timeout?.aborted) return 'timeout';
  const e = err as { name?: unknown; code?: unknown; cause?: { code?: unknown; name?: unknown } } | undefined;
  if (e?.name === 'TimeoutError') return 'timeout';
  if (e?.name === 'AbortError') return 'aborted';
  const code = e?.cause?.code ?? e?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  return 'network_error';
}

/** Reads at most MAX_ANSWER_BYTES of the body and drops the rest; errors do not matter (the status decides). */
async function discardAnswer(res: Response): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let read = 0;
  try {
    while (read < MAX_ANSWER_BYTES) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    await reader.cancel();
  } catch {
    /* a body cut short or timed out: the status is already known */
  }
}

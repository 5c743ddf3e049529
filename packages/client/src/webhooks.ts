/**
 * Webhooks: the Standard Webhooks check (the `standardwebhooks` package: HMAC-SHA256 under the
 * `whsec_…` secret over `<id>.<timestamp>.<body>`, timestamps at most 5 minutes off), then the
 * body narrowed to the contract's events. Headers as node gives them (lower-case keys, a value
 * possibly an array) or as a fetch `Headers`.
 */
import { Webhook } from 'standardwebhooks';
import { WebhookVerificationError } from './errors.js';
import type { WebhookEvent, WebhookEventType } from './types.js';

/** Node's IncomingHttpHeaders, or any record of header values, or a fetch Headers. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;
export type RawBody = string | Uint8Array;

/** How far a timestamp may be from now, as the package checks it (its WEBHOOK_TOLERANCE_IN_SECONDS). */
const TOLERANCE_S = 5 * 60;
const NAMES = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

/** Every event type of the contract: the compiler checks this list against the generated union both ways. */
const EVENT_TYPES = {
  'connection.created': true,
  'connection.reconnected': true,
  'connection.ended': true,
  'connection.expiring': true,
} as const satisfies Record<WebhookEventType, true>;

function headerOf(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(' ') : value;
}

function requiredHeaders(headers: WebhookHeaders): Record<(typeof NAMES)[number], string> {
  const out: Partial<Record<(typeof NAMES)[number], string>> = {};
  for (const name of NAMES) {
    const value = headerOf(headers, name);
    if (!value) throw new WebhookVerificationError('headers', `missing ${name} header`);
    out[name] = value;
  }
  return out as Record<(typeof NAMES)[number], string>;
}

function checkTimestamp(value: string): void {
  if (!/^\d{1,12}$/.test(value.trim())) throw new WebhookVerificationError('headers', 'malformed webhook-timestamp');
  const off = Math.floor(Date.now() / 1000) - Number(value);
  if (off > TOLERANCE_S) throw new WebhookVerificationError('timestamp', 'webhook timestamp too old');
  if (off < -TOLERANCE_S) throw new WebhookVerificationError('timestamp', 'webhook timestamp too far ahead');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The body as one of the contract's events, or a `payload` failure. */
function eventOf(text: string): WebhookEvent {
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new WebhookVerificationError('payload', 'the webhook body is not JSON');
  }
  if (!isObject(body) || typeof body.type !== 'string' || !Object.hasOwn(EVENT_TYPES, body.type))
    throw new WebhookVerificationError('payload', 'the webhook body is not a known event');
  if (typeof body.timestamp !== 'string' || !isObject(body.data) || typeof body.data.provider !== 'string')
    throw new WebhookVerificationError('payload', 'the webhook body is not a well-formed event');
  return body as WebhookEvent;
}

export class WebhookVerifier {
  readonly #webhook: Webhook;

  /** `secret`: WEBHOOK_SECRET, `whsec_<base64>`. */
  constructor(secret: string) {
    this.#webhook = new Webhook(secret);
  }

  /** The event, once its headers, timestamp and signature are good; throws WebhookVerificationError. */
  verify(headers: WebhookHeaders, rawBody: RawBody): WebhookEvent {
    const wanted = requiredHeaders(headers);
    checkTimestamp(wanted['webhook-timestamp']);
    const text = typeof rawBody === 'string' ? rawBody : new TextDecoder('utf-8', { fatal: false }).decode(rawBody);
    try {
      this.#webhook.verify(text, wanted, { jsonParse: false });
    } catch (err) {
      const timing = err instanceof Error && /timestamp/i.test(err.message);
      throw new WebhookVerificationError(timing ? 'timestamp' : 'signature', 'webhook signature does not match');
    }
    return eventOf(text);
  }
}

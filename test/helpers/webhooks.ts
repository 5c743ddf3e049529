/**
 * What the webhook tests (webhooks-*.test.ts) share: the app's settings for a receiver
 * (webhookReceiver.ts), delivery timings scaled down, and what /readyz and the logs say.
 */
import type { Env } from '../../src/config/index.js';
import type { WebhookStats } from '../../src/webhooks/delivery.js';
import { type Harness, detailedReadyz } from './harness.js';

/** A token in the endpoint's query, as institutions often put one there: it must never be logged. */
export const QUERY_TOKEN = 'receiver-query-token-5f1e9c';
/** Retries and polls scaled down, so a test runs the real logic in milliseconds. */
export const FAST = { firstRetryMs: 50, pollMs: 50 };

/** WEBHOOK_URL (with QUERY_TOKEN in its query) and WEBHOOK_SECRET for the receiver `r`, and `extra`. */
export const hookEnv = (r: { url: string; secret: string }, extra: Env = {}): Env => ({
  WEBHOOK_URL: `${r.url}?token=${QUERY_TOKEN}`,
  WEBHOOK_SECRET: r.secret,
  ...extra,
});

export interface ReadyJson {
  status: string;
  store: string;
  webhooks?: WebhookStats;
}

/** GET /readyz on the metrics listener of the harness's app (the public one says ready or not_ready only). */
export const readyz = async (h: Harness): Promise<ReadyJson> => (await detailedReadyz(h.built)).body as ReadyJson;

/** Log records of the harness at `level` (pino numbers: 40 warn, 50 error) whose msg matches. */
export const logLines = (h: Harness, level: number, msg: RegExp) =>
  h.logs.records().filter((l) => l.level === level && msg.test(String(l.msg)));

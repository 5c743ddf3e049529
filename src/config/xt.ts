/**
 * XT.COM: the provider (XT_ENABLED, XT_CLIENT_*, its endpoints, how user API calls are signed,
 * XT_REGISTER_URL) and the calls the site's pages make through /api/xt (XT_API_ALLOW and the
 * budget: XT_API_IP_LIMIT, XT_API_QUEUE_WAIT, XT_API_PERSON_SHARE, XT_API_SERVICE_SHARE).
 */
import { z } from 'zod';
import { type AllowEntry, DEFAULT_XT_API_ALLOW, parseAllowList } from '../shared/xtAllowListSyntax.js';
import type { RunMode } from './core.js';
import { bool, checkProviderUrl, durationMs, isLoopbackHttp, optionalNonEmpty, share } from './env.js';

export const XT_LANGUAGES = ['en', 'ja', 'hi', 'id', 'ru', 'es', 'tr', 'zh-HK', 'zh-CN', 'vi', 'th'] as const;

/** Where a person without an XT.COM account registers; people who come through it count as the institution's. */
export const DEFAULT_XT_REGISTER_URL = 'https://www.xt.com/{lang}/accounts/register?client_id={client_id}';

/** The demo's built-in client secret: public, so refused in production. */
const DEMO_XT_CLIENT_SECRET = 'demo-secret';

/**
 * XT_API_PERSON_SHARE: a tenth of the deployment's XT.COM budget (100 of 1000 calls a minute) is
 * a call every 0.6 s, more than a page polling every few seconds needs. XT.COM's per-user limits
 * let one person make about 520 a minute, so without a share three of them took everything; with
 * it, k people at full speed take k tenths, and anyone else finds room while k is 8 or fewer.
 * XT_API_SERVICE_SHARE: a tenth is kept for the institution's /v1 calls.
 */
export const DEFAULT_PERSON_SHARE = 0.1;
export const DEFAULT_SERVICE_SHARE = 0.1;
/** KEEPALIVE_SHARE: the keeper's refreshes take at most a tenth of the budget. */
export const DEFAULT_KEEPALIVE_SHARE = 0.1;

export const xtSchema = z.object({
  XT_ENABLED: bool.default(true),
  XT_CLIENT_ID: optionalNonEmpty,
  XT_CLIENT_SECRET: optionalNonEmpty,
  XT_AUTHORIZE_URL: z.string().default('https://www.xt.com/{lang}/accounts/oauth2'),
  XT_TOKEN_URL: z.string().default('https://sapi.xt.com/public/uaa/oauth2/token'),
  XT_API_URL: z.string().default('https://sapi.xt.com'),
  XT_SCOPE: z.string().min(1).default('userinfo'),
  XT_EXPIRES_IN_UNIT: z.enum(['s', 'ms']).default('s'),
  XT_LABEL: z.string().min(1).default('XT.COM'),
  XT_API_KEY: optionalNonEmpty,
  XT_API_SECRET: optionalNonEmpty,
  XT_SIGN_STYLE: z.enum(['method', 'path'], { error: 'must be method or path' }).default('method'),
  XT_RECV_WINDOW: durationMs('XT_RECV_WINDOW').default(5000),
  XT_API_ALLOW: optionalNonEmpty,
  XT_API_IP_LIMIT: z.coerce.number().int().min(1).max(100_000).default(1000),
  XT_API_QUEUE_WAIT: durationMs('XT_API_QUEUE_WAIT').default(2000),
  XT_API_PERSON_SHARE: share('XT_API_PERSON_SHARE').default(DEFAULT_PERSON_SHARE),
  XT_API_SERVICE_SHARE: share('XT_API_SERVICE_SHARE').default(DEFAULT_SERVICE_SHARE),
  KEEPALIVE_SHARE: share('KEEPALIVE_SHARE').default(DEFAULT_KEEPALIVE_SHARE),
  XT_REGISTER_URL: z.string().default(DEFAULT_XT_REGISTER_URL),
});

export type XtEnv = z.infer<typeof xtSchema>;

export interface XtConfig {
  id: 'xt';
  label: string;
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  apiUrl: string;
  scope: string;
  expiresInUnit: 's' | 'ms';
  /** Signs user API calls (validate-appkey / HMAC key): XT_API_KEY/SECRET, else the client id/secret. */
  apiKey: string;
  apiSecret: string;
  /** `method`: Y = #METHOD#path…; `path`: Y = #path… (XT.COM's third-party page). */
  signStyle: 'method' | 'path';
  recvWindowMs: number;
  /** XT_REGISTER_URL: XT.COM's registration page; `{lang}` and `{client_id}` are filled in per person. */
  registerUrl: string;
}

/** /api/xt and the guard for the person's XT.COM account (XT_API_ALLOW, XT_API_IP_LIMIT, XT_API_QUEUE_WAIT). */
export interface XtCallsConfig {
  /** What the site's pages may call through /api/xt. */
  allow: AllowEntry[];
  /** Calls to XT.COM per minute for the whole deployment (XT.COM allows 1000/min per IP). */
  ipLimitPerMinute: number;
  /** How long a call over a limit waits for a slot before it is answered 429. */
  queueWaitMs: number;
  /** The most of that budget one person may use in a minute (a fraction). */
  personShare: number;
  /** The part of it kept for the institution's /v1 calls, which people's calls never use (a fraction). */
  serviceShare: number;
  /** KEEPALIVE_SHARE: the most of it the keeper's refreshes may use in a minute (a fraction). */
  keeperShare: number;
}

/** The XT.COM provider. Absent: XT_ENABLED=false, or a problem with its settings. */
export function loadXt(e: XtEnv, run: RunMode, problems: string[]): XtConfig | undefined {
  if (!e.XT_ENABLED) return undefined;
  const clientId = e.XT_CLIENT_ID ?? (run.demo ? 'demo-client' : undefined);
  const clientSecret = e.XT_CLIENT_SECRET ?? (run.demo ? DEMO_XT_CLIENT_SECRET : undefined);
  if (run.inProduction && run.demo && !e.XT_CLIENT_SECRET) {
    problems.push(`XT_CLIENT_SECRET: required ${run.inProduction} (the demo's built-in client secret is public)`);
  }
  if (!clientId) problems.push('XT_CLIENT_ID: required (issued by XT.COM), or set XT_ENABLED=false');
  if (!clientSecret) problems.push('XT_CLIENT_SECRET: required (issued by XT.COM), or set XT_ENABLED=false');
  // The client secret travels in the token URL's query: https only, as for every provider endpoint.
  const endpointsOk = [
    checkProviderUrl('XT_AUTHORIZE_URL', e.XT_AUTHORIZE_URL.replace('{lang}', 'en'), problems),
    checkProviderUrl('XT_TOKEN_URL', e.XT_TOKEN_URL, problems),
    checkProviderUrl('XT_API_URL', e.XT_API_URL, problems),
    checkRegisterUrl(e.XT_REGISTER_URL, problems),
  ].every(Boolean);
  if (e.XT_RECV_WINDOW < 1 || e.XT_RECV_WINDOW > 60_000)
    problems.push('XT_RECV_WINDOW: must be between 1ms and 60s (XT.COM allows at most 60000 ms)');
  if (!e.XT_API_KEY !== !e.XT_API_SECRET)
    problems.push('XT_API_KEY, XT_API_SECRET: set both or neither (unset, the client id and secret sign)');
  if (!clientId || !clientSecret || !endpointsOk) return undefined;
  return {
    id: 'xt',
    label: e.XT_LABEL,
    clientId,
    clientSecret,
    authorizeUrl: e.XT_AUTHORIZE_URL,
    tokenUrl: e.XT_TOKEN_URL,
    apiUrl: e.XT_API_URL.replace(/\/+$/, ''),
    scope: e.XT_SCOPE,
    expiresInUnit: e.XT_EXPIRES_IN_UNIT,
    apiKey: e.XT_API_KEY ?? clientId,
    apiSecret: e.XT_API_SECRET ?? clientSecret,
    signStyle: e.XT_SIGN_STYLE,
    recvWindowMs: e.XT_RECV_WINDOW,
    registerUrl: e.XT_REGISTER_URL,
  };
}

/** What the site's pages may call through /api/xt, and the deployment's XT.COM budget. */
export function loadXtCalls(e: XtEnv, problems: string[]): XtCallsConfig {
  const allow = parseAllowList(e.XT_API_ALLOW ?? DEFAULT_XT_API_ALLOW);
  problems.push(...allow.problems);
  if (e.XT_API_QUEUE_WAIT > 10_000)
    problems.push('XT_API_QUEUE_WAIT: must be at most 10s (a waiting call holds its request open)');
  checkShares(e, problems);
  return {
    allow: allow.entries,
    ipLimitPerMinute: e.XT_API_IP_LIMIT,
    queueWaitMs: e.XT_API_QUEUE_WAIT,
    personShare: e.XT_API_PERSON_SHARE,
    serviceShare: e.XT_API_SERVICE_SHARE,
    keeperShare: e.KEEPALIVE_SHARE,
  };
}

/** The shares of the XT.COM budget must leave people something, and one person's must fit in what people get. */
function checkShares(e: XtEnv, problems: string[]): void {
  const person = e.XT_API_PERSON_SHARE;
  const service = e.XT_API_SERVICE_SHARE;
  if (person + service > 1 + 1e-9) {
    problems.push(
      `XT_API_PERSON_SHARE, XT_API_SERVICE_SHARE: together at most 1 (one person's share comes out of what the service's leaves), now ${person} + ${service}`,
    );
  } else if (e.XT_API_IP_LIMIT - Math.ceil(service * e.XT_API_IP_LIMIT - 1e-9) < 1) {
    problems.push(
      `XT_API_SERVICE_SHARE: keeps all ${e.XT_API_IP_LIMIT} calls a minute of XT_API_IP_LIMIT for /v1 and leaves people none; lower it or raise XT_API_IP_LIMIT`,
    );
  }
}

/** XT_REGISTER_URL: an https URL (http on loopback) once `{lang}` and `{client_id}` are filled in; no other placeholder. */
function checkRegisterUrl(value: string, problems: string[]): boolean {
  const other = value.replace(/\{(lang|client_id)\}/g, '').match(/\{[^}]*\}/);
  if (other) {
    problems.push(`XT_REGISTER_URL: ${other[0]} is not a placeholder it knows (only {lang} and {client_id})`);
    return false;
  }
  let url: URL;
  try {
    url = new URL(value.replace(/\{lang\}/g, 'en').replace(/\{client_id\}/g, 'client'));
  } catch {
    problems.push('XT_REGISTER_URL: must be an http(s) URL');
    return false;
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
    problems.push('XT_REGISTER_URL: must use https (plain http is allowed for 127.0.0.1 and localhost only)');
    return false;
  }
  if (url.username || url.password || url.hash) {
    problems.push('XT_REGISTER_URL: must not carry credentials or a fragment');
    return false;
  }
  return true;
}

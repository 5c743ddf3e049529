/**
 * What ties xt-connect to the institution's own systems: links from its site (LINK_*), its
 * backend's API under /v1 (SERVICE_*), the connection events POSTed to it (WEBHOOK_*), and the
 * pages of its own that may embed the Connect button (EMBED_ORIGINS).
 */
import { z } from 'zod';
import {
  API_KEY_CREATION,
  type AllowEntry,
  DEFAULT_XT_API_ALLOW,
  parseAllowList,
} from '../shared/xtAllowListSyntax.js';
import { type ApiKeyRecipient, loadApiKeyRecipient } from './apiKeyRecipient.js';
import type { RunMode } from './core.js';
import { bool, durationMs, isLoopbackHttp, optionalNonEmpty, secretList } from './env.js';

export const integrationSchema = z.object({
  LINK_SECRET: optionalNonEmpty,
  LINK_REQUIRED: bool.default(false),
  SERVICE_API_KEYS: optionalNonEmpty,
  SERVICE_XT_API_ALLOW: optionalNonEmpty,
  SERVICE_ALLOW_API_KEY_CREATION: bool.default(false),
  SERVICE_API_KEY_RECIPIENT: optionalNonEmpty,
  SERVICE_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(100),
  WEBHOOK_URL: optionalNonEmpty,
  WEBHOOK_SECRET: optionalNonEmpty,
  WEBHOOK_MAX_AGE: durationMs('WEBHOOK_MAX_AGE').default(3 * 86_400_000),
  WEBHOOK_LOG_TTL: durationMs('WEBHOOK_LOG_TTL').default(7 * 86_400_000),
  EMBED_ORIGINS: optionalNonEmpty,
});

export type IntegrationEnv = z.infer<typeof integrationSchema>;

export interface IntegrationConfig {
  /** Links from the institution's site (LINK_SECRET, LINK_REQUIRED). Absent: connections belong to browser sessions only. */
  link?: LinkConfig;
  /** The institution's backend API under /v1 (SERVICE_*). Absent: no /v1 routes. */
  service?: ServiceConfig;
  /** Connection events POSTed to the institution (WEBHOOK_*). Absent: none. */
  webhooks?: WebhookConfig;
  /**
   * EMBED_ORIGINS: the exact origins (`https://site.example`) whose pages may load /connect.js and
   * open the connection in a popup that reports back to them. Empty: no page may.
   */
  embedOrigins: string[];
}

export interface LinkConfig {
  /** The HS256 key the institution signs link tokens with: the newest of `secrets`. */
  secret: string;
  /** LINK_SECRET's list, newest first: a token is verified under the key its `kid` names (a rotation). */
  secrets: string[];
  /** Refuse any login that does not come with a valid link. */
  required: boolean;
}

/**
 * What a service key may call (the last `:scope+scope…` segment of its SERVICE_API_KEYS entry);
 * which route needs which: each operation's `x-required-scope` in api/openapi.yaml, and the table
 * in docs/integration.md.
 */
export const SERVICE_SCOPES = [
  'read',
  'xt.read',
  'xt.write',
  'disconnect',
  'api-key',
  'webhooks',
  'webhooks.replay',
] as const;
export type ServiceScope = (typeof SERVICE_SCOPES)[number];

export interface ServiceKey {
  /** Logged with every call; the key never is. */
  name: string;
  key: string;
  /** What the key may call; an entry written without scopes has them all (every route, as before scopes). */
  scopes: ReadonlySet<ServiceScope>;
}

export interface ServiceConfig {
  keys: ServiceKey[];
  /** What the institution's backend may call on XT.COM for a subject (SERVICE_XT_API_ALLOW). */
  allow: AllowEntry[];
  /** SERVICE_ALLOW_API_KEY_CREATION: POST /user/account/api-key may be called (it must be on `allow` too). */
  allowApiKeyCreation: boolean;
  /** SERVICE_API_KEY_RECIPIENT: what a created API secret is sealed to (required with allowApiKeyCreation). */
  apiKeyRecipient?: ApiKeyRecipient;
  /** Requests per second per key name. */
  rateLimitPerSec: number;
}

export interface WebhookConfig {
  url: string;
  /** `whsec_…`, as the Standard Webhooks libraries take it: the newest of `secrets`. */
  secret: string;
  /** WEBHOOK_SECRET's list, newest first: every delivery carries one signature per secret (a rotation). */
  secrets: string[];
  /** Past this age an undelivered event moves to the dead letters (and is logged). */
  maxAgeMs: number;
  /** WEBHOOK_LOG_TTL: how long dead letters are kept. */
  logTtlMs: number;
}

export function loadIntegration(
  e: IntegrationEnv,
  run: Pick<RunMode, 'inProduction'>,
  problems: string[],
  warnings: string[],
): IntegrationConfig {
  return {
    link: loadLink(e, problems),
    service: loadService(e, problems),
    webhooks: loadWebhooks(e, problems, warnings),
    embedOrigins: e.EMBED_ORIGINS === undefined ? [] : parseEmbedOrigins(e.EMBED_ORIGINS, run, problems),
  };
}

/**
 * EMBED_ORIGINS: comma-separated exact origins, each https (plain http only on loopback, and never
 * in production), without a path, query, fragment or credentials. A popup reports its outcome to
 * exactly one of these, so a near miss (a path, a trailing slash) is refused rather than guessed at.
 */
export function parseEmbedOrigins(list: string, run: Pick<RunMode, 'inProduction'>, problems: string[]): string[] {
  const origins: string[] = [];
  for (const raw of list.split(',').map((s) => s.trim())) {
    if (raw === '') continue;
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    if (!url || url.origin !== raw) {
      problems.push(`EMBED_ORIGINS: "${raw.slice(0, 80)}" must be an origin only, like https://site.example (no path)`);
    } else if (url.protocol !== 'https:' && !(isLoopbackHttp(url) && !run.inProduction)) {
      problems.push(
        `EMBED_ORIGINS: "${raw}" must use https (plain http is allowed for 127.0.0.1 and localhost outside production)`,
      );
    } else if (!origins.includes(raw)) origins.push(raw);
  }
  return origins;
}

function loadLink(e: IntegrationEnv, problems: string[]): LinkConfig | undefined {
  if (e.LINK_REQUIRED && !e.LINK_SECRET)
    problems.push('LINK_REQUIRED: needs LINK_SECRET (the key the site signs its link tokens with)');
  if (!e.LINK_SECRET) return undefined;
  const secrets = secretList('LINK_SECRET', e.LINK_SECRET, 32, problems);
  if (secrets.length === 0) return undefined;
  return { secret: secrets[0]!, secrets, required: e.LINK_REQUIRED };
}

function loadService(e: IntegrationEnv, problems: string[]): ServiceConfig | undefined {
  if (!e.SERVICE_API_KEYS) {
    for (const key of ['SERVICE_XT_API_ALLOW', 'SERVICE_API_KEY_RECIPIENT'] as const)
      if (e[key] !== undefined) problems.push(`SERVICE_API_KEYS: required when ${key} is set`);
    return undefined;
  }
  const keys = parseServiceKeys(e.SERVICE_API_KEYS, problems);
  const allow = parseAllowList(e.SERVICE_XT_API_ALLOW ?? DEFAULT_XT_API_ALLOW, {
    name: 'SERVICE_XT_API_ALLOW',
    apiKeyCreation: e.SERVICE_ALLOW_API_KEY_CREATION,
  });
  problems.push(...allow.problems);
  const listsApiKey = allow.entries.some((a) => a.text === API_KEY_CREATION);
  if (e.SERVICE_ALLOW_API_KEY_CREATION && !listsApiKey)
    problems.push(`SERVICE_ALLOW_API_KEY_CREATION: set, but SERVICE_XT_API_ALLOW does not list "${API_KEY_CREATION}"`);
  return {
    keys,
    allow: allow.entries,
    allowApiKeyCreation: e.SERVICE_ALLOW_API_KEY_CREATION,
    apiKeyRecipient: loadApiKeyRecipient(e.SERVICE_API_KEY_RECIPIENT, e.SERVICE_ALLOW_API_KEY_CREATION, problems),
    rateLimitPerSec: e.SERVICE_RATE_LIMIT,
  };
}

const KEY_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** A last segment of this shape is read as scopes (so a key must not end in `:<lower-case words>`). */
const SCOPE_SEGMENT = /^[a-z.-]+(\+[a-z.-]+)*$/;
const isScope = (s: string): s is ServiceScope => (SERVICE_SCOPES as readonly string[]).includes(s);

/**
 * SERVICE_API_KEYS: `name:key[:scope+scope…]` entries, comma separated; each name once, each key
 * long and printable, each scope a known one.
 */
function parseServiceKeys(list: string, problems: string[]): ServiceKey[] {
  const keys: ServiceKey[] = [];
  for (const [i, entry] of list.split(',').entries()) {
    const at = entry.indexOf(':');
    const name = entry.slice(0, Math.max(0, at)).trim();
    const label = KEY_NAME.test(name) ? name : `#${i + 1}`;
    const { key, scopes } = splitScopes(entry.slice(at + 1).trim(), label, problems);
    // Never echo the entry: it holds a key.
    if (at < 0 || !KEY_NAME.test(name))
      problems.push(`SERVICE_API_KEYS: entry #${i + 1} must be name:key, the name of letters, digits and . _ -`);
    else if (key.length < 32)
      problems.push(
        `SERVICE_API_KEYS: the key named "${name}" must be at least 32 characters (openssl rand -base64 32)`,
      );
    else if (!/^[\x21-\x7e]+$/.test(key))
      problems.push(
        `SERVICE_API_KEYS: the key named "${name}" may hold printable ASCII only, without spaces (it travels in an HTTP header)`,
      );
    else if (keys.some((k) => k.name === name)) problems.push(`SERVICE_API_KEYS: the name "${name}" is used twice`);
    else if (scopes) keys.push({ name, key, scopes });
  }
  return keys;
}

/**
 * The key and its scopes. A key holds no `:`, so a second `:` starts the scope list: lower-case
 * words joined by `+`, each a known scope, else a problem (never a silent fallback to every scope,
 * which would turn a typo such as `:Read` into a key with all of them). Without one, every scope.
 */
function splitScopes(
  rest: string,
  name: string,
  problems: string[],
): { key: string; scopes: ReadonlySet<ServiceScope> | undefined } {
  const at = rest.indexOf(':');
  if (at < 0) return { key: rest, scopes: new Set(SERVICE_SCOPES) };
  const key = rest.slice(0, at);
  const segment = rest.slice(at + 1);
  const items = SCOPE_SEGMENT.test(segment) ? segment.split('+') : [];
  const unknown = items.filter((s) => !isScope(s));
  if (items.length === 0 || unknown.length > 0) {
    const known = `known: ${SERVICE_SCOPES.join(', ')}`;
    problems.push(
      items.length === 0
        ? `SERVICE_API_KEYS: key ${name}: a key may not hold ":"; what follows it is the key's scopes, lower-case and joined by + (${known})`
        : `SERVICE_API_KEYS: key ${name}: unknown scope ${unknown.join(', ')}; ${known}`,
    );
    return { key, scopes: undefined };
  }
  return { key, scopes: new Set(items.filter(isScope)) };
}

function loadWebhooks(e: IntegrationEnv, problems: string[], warnings: string[]): WebhookConfig | undefined {
  if (!e.WEBHOOK_URL && !e.WEBHOOK_SECRET) return undefined;
  if (!e.WEBHOOK_URL) problems.push('WEBHOOK_URL: required when WEBHOOK_SECRET is set');
  if (!e.WEBHOOK_SECRET) problems.push('WEBHOOK_SECRET: required when WEBHOOK_URL is set (whsec_ followed by base64)');
  const urlOk = e.WEBHOOK_URL ? checkWebhookUrl(e.WEBHOOK_URL, problems, warnings) : false;
  const secrets = e.WEBHOOK_SECRET ? parseWebhookSecrets(e.WEBHOOK_SECRET, problems) : [];
  const secretOk = secrets.length > 0;
  if (e.WEBHOOK_MAX_AGE < 60_000 || e.WEBHOOK_MAX_AGE > 30 * 86_400_000)
    problems.push('WEBHOOK_MAX_AGE: must be between 1m and 30d');
  if (e.WEBHOOK_LOG_TTL < 3_600_000 || e.WEBHOOK_LOG_TTL > 90 * 86_400_000)
    problems.push('WEBHOOK_LOG_TTL: must be between 1h and 90d');
  if (!urlOk || !secretOk) return undefined;
  return {
    url: e.WEBHOOK_URL!,
    secret: secrets[0]!,
    secrets,
    maxAgeMs: e.WEBHOOK_MAX_AGE,
    logTtlMs: e.WEBHOOK_LOG_TTL,
  };
}

/**
 * WEBHOOK_SECRET: one `whsec_…` secret, or several comma separated, newest first (a rotation, like
 * TOKEN_ENCRYPTION_KEYS). Each is the form the Standard Webhooks libraries take: whsec_ and base64
 * (checked here without loading one). Empty when any is wrong (never echoed: they are secrets).
 */
export function parseWebhookSecrets(list: string, problems: string[]): string[] {
  const secrets = list.split(',').map((s) => s.trim());
  const bad = secrets.findIndex(
    (s) => !/^whsec_[A-Za-z0-9+/]+=*$/.test(s) || Buffer.from(s.slice(6), 'base64').length < 24,
  );
  if (bad >= 0) {
    const which = secrets.length > 1 ? ` (entry #${bad + 1})` : '';
    problems.push(
      `WEBHOOK_SECRET${which}: must be whsec_ followed by at least 24 bytes in base64 (e.g. whsec_$(openssl rand -base64 32)); several are comma separated, newest first`,
    );
    return [];
  }
  if (new Set(secrets).size !== secrets.length) {
    problems.push('WEBHOOK_SECRET: the same secret is listed twice');
    return [];
  }
  return secrets;
}

/** WEBHOOK_URL: an http(s) URL without credentials or a fragment; plain http off loopback is a warning. */
function checkWebhookUrl(value: string, problems: string[], warnings: string[]): boolean {
  let urlOk: boolean;
  try {
    const u = new URL(value);
    urlOk = (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && !u.hash;
  } catch {
    urlOk = false;
  }
  if (!urlOk) problems.push('WEBHOOK_URL: must be an http(s) URL without credentials or a fragment');
  else if (new URL(value).protocol === 'http:' && !isLoopbackHttp(new URL(value))) {
    warnings.push(
      'WEBHOOK_URL is plain http: events (user ids) cross the network unencrypted; use https unless the receiver is on a private network',
    );
  }
  return urlOk;
}

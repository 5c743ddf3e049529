/**
 * The one place that reads the environment. Everything is parsed and validated once;
 * a bad value stops the app at start with a message that lists every problem.
 *
 * Each concern owns its slice of the schema, its loader and its type, in its own file: core.ts
 * (run mode, listeners, proxies, time limits), session.ts, redis.ts, xt.ts, oidc.ts,
 * integration.ts (link, service API, webhooks), site.ts and telemetry.ts (traces); env.ts holds the helpers they share.
 * This file merges the slices, runs each loader, and the checks that span concerns.
 */
import { z } from 'zod';
import { coreSchema, loadRunMode, loadServer, type RunMode, type ServerConfig } from './core.js';
import { ConfigError, type Env } from './env.js';
import { withSecretFiles } from './secretFiles.js';
import { type IntegrationConfig, integrationSchema, loadIntegration } from './integration.js';
import { loadOidc, type OidcConfig, oidcSchema } from './oidc.js';
import { loadRedis, type RedisSettings, redisSchema } from './redis.js';
import { DEMO_SESSION_SECRET, loadSession, type SessionConfig, sessionSchema } from './session.js';
import { loadSite, type SiteConfig, siteSchema, unbrandedWarnings } from './site.js';
import { loadTelemetry, type TelemetryConfig, telemetrySchema } from './telemetry.js';
import { loadXt, loadXtCalls, type XtCallsConfig, type XtConfig, xtSchema } from './xt.js';

export { ConfigError, type Env, isLoopbackHttp, parseDuration } from './env.js';
export { DEFAULT_XT_REGISTER_URL, XT_LANGUAGES } from './xt.js';
// The types of Config's parts, so that any of them can be named from here too.
export type { ServerConfig } from './core.js';
export type { SessionConfig } from './session.js';
export type { RedisConfig, RedisSettings } from './redis.js';
export type { XtCallsConfig, XtConfig } from './xt.js';
export type { OidcConfig, OidcTokenAuth } from './oidc.js';
export type {
  IntegrationConfig,
  LinkConfig,
  ServiceConfig,
  ServiceKey,
  ServiceScope,
  WebhookConfig,
} from './integration.js';
export type { ScopeText, SiteConfig } from './site.js';
export type { TelemetryConfig } from './telemetry.js';

/** The whole schema: every slice's variables, merged. */
const envSchema = z.object({
  ...coreSchema.shape,
  ...sessionSchema.shape,
  ...redisSchema.shape,
  ...xtSchema.shape,
  ...oidcSchema.shape,
  ...integrationSchema.shape,
  ...siteSchema.shape,
  ...telemetrySchema.shape,
});

type ParsedEnv = z.infer<typeof envSchema>;

/** Every environment variable the app reads, by name (docs/configuration.md and .env.example list exactly these). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/**
 * The placeholders `.env.example` ships with. They are public, so with NODE_ENV=production the
 * app refuses to start while any of them is still set (as it does with the demo's built-in secrets).
 */
export const EXAMPLE_PLACEHOLDERS = {
  SESSION_SECRET: 'change-me-to-a-long-random-value-at-least-32-chars',
  XT_CLIENT_ID: 'your-client-id',
  XT_CLIENT_SECRET: 'your-client-secret',
  OIDC_CLIENT_ID: 'your-ciam-client-id',
  OIDC_CLIENT_SECRET: 'your-ciam-client-secret',
} as const;

/** The configuration, nested by concern (each part's type lives with its loader). */
export interface Config {
  /** How the app runs and where it listens: NODE_ENV, PORT, HOST, METRICS_*, PUBLIC_URL, TRUST_PROXY, DATA_DIR, time limits. */
  server: ServerConfig;
  /** The session cookie, its lifetimes and store, the token keys and refresh timing (SESSION_*, TOKEN_ENCRYPTION_KEYS, REFRESH_*). */
  session: SessionConfig;
  /** Where Redis is (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS) and how to reach it. Absent: none is set. */
  redis?: RedisSettings;
  xt?: XtConfig;
  oidc?: OidcConfig;
  /** /api/xt and the guard for the person's XT.COM account (XT_API_ALLOW, XT_API_IP_LIMIT, XT_API_QUEUE_WAIT). */
  xtCalls: XtCallsConfig;
  /** The institution's systems: links from its site, its backend's /v1 API, webhooks, embedding pages (LINK_*, SERVICE_*, WEBHOOK_*, EMBED_ORIGINS). */
  integration: IntegrationConfig;
  /** The institution's brand on the pages (SITE_*, SUPPORT_URL, SCOPE_TEXTS). */
  site: SiteConfig;
  /** OpenTelemetry traces (OTEL_*); absent: OTEL_EXPORTER_OTLP_ENDPOINT is unset and tracing is off. */
  telemetry?: TelemetryConfig;
  /** Accepted but deprecated or risky settings, said once at start. */
  warnings: string[];
}

/** Parses and validates the environment. Throws ConfigError listing every problem. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const e = parseEnv(withSecretFiles(env, problems), problems);
  const run = loadRunMode(e, problems);
  const server = loadServer(e, run, problems, warnings);
  const session = loadSession(e, run, problems, warnings);
  const redis = loadRedis(e, session.store, problems);
  const xt = loadXt(e, run, problems);
  const oidc = loadOidc(e, problems);
  const xtCalls = loadXtCalls(e, problems);
  const integration = loadIntegration(e, run, problems, warnings);
  const site = loadSite(e, server.dataDir, problems);
  const telemetry = loadTelemetry(e, run, problems);
  if (run.env === 'production') warnings.push(...unbrandedWarnings(env));
  if (run.inProduction) problems.push(...productionRefusals(e, session, run));
  if (problems.length) throw new ConfigError(problems);
  return { server, session, redis, xt, oidc, xtCalls, integration, site, telemetry, warnings };
}

/**
 * Each variable is parsed on its own so that one bad value does not hide the others. The gaps
 * left by bad values are filled with their defaults, so the loaders' checks still run.
 */
function parseEnv(env: Env, problems: string[]): ParsedEnv {
  const data: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(envSchema.shape)) {
    const r = (schema as z.ZodType).safeParse(env[key]);
    if (r.success) data[key] = r.data;
    else problems.push(...r.error.issues.map((i) => `${key}: ${i.message}`));
  }
  return { ...envSchema.parse({}), ...data };
}

/** In production, the public placeholders of .env.example and the demo's built-in secret are refused. */
function productionRefusals(e: ParsedEnv, session: SessionConfig, run: RunMode): string[] {
  const problems: string[] = [];
  for (const [key, placeholder] of Object.entries(EXAMPLE_PLACEHOLDERS) as [
    keyof typeof EXAMPLE_PLACEHOLDERS,
    string,
  ][]) {
    const values = e[key]?.split(',').map((v) => v.trim()) ?? [];
    if (values.includes(placeholder))
      problems.push(
        `${key}: still the placeholder from .env.example; set a real value (placeholders are refused ${run.inProduction})`,
      );
  }
  if (session.secrets.includes(DEMO_SESSION_SECRET)) {
    problems.push(
      `SESSION_SECRET: required ${run.inProduction} (the demo's built-in secret is public); generate one with: openssl rand -base64 48`,
    );
  }
  return problems;
}

/**
 * Sessions: the cookie's secret (SESSION_SECRET), how long a session lives (SESSION_IDLE_TTL,
 * SESSION_MAX_AGE), where sessions are kept (SESSION_STORE), the keys that seal the tokens in
 * them (TOKEN_ENCRYPTION_KEYS), when the tokens are refreshed (REFRESH_*), and the keeper that keeps
 * subjects' connections alive and warns before one ends (KEEPALIVE*, EXPIRY_WARNING).
 */
import { z } from 'zod';
import type { RunMode } from './core.js';
import { bool, durationMs, optionalNonEmpty, secretList } from './env.js';

export const sessionSchema = z.object({
  SESSION_SECRET: optionalNonEmpty,
  SUBJECT_KEYS: optionalNonEmpty,
  SESSION_IDLE_TTL: durationMs('SESSION_IDLE_TTL').optional(),
  SESSION_MAX_AGE: durationMs('SESSION_MAX_AGE').default(90 * 86_400_000),
  /** Deprecated: read as SESSION_IDLE_TTL. */
  SESSION_TTL: durationMs('SESSION_TTL').optional(),
  SESSION_STORE: z.enum(['sqlite', 'redis', 'memory']).default('sqlite'),
  TOKEN_ENCRYPTION_KEYS: optionalNonEmpty,
  REFRESH_SKEW: durationMs('REFRESH_SKEW').default(60_000),
  REFRESH_BACKOFF_MAX: durationMs('REFRESH_BACKOFF_MAX').default(5 * 60_000),
  KEEPALIVE: bool.default(true),
  KEEPALIVE_WINDOW: durationMs('KEEPALIVE_WINDOW').default(14 * 86_400_000),
  KEEPALIVE_INTERVAL: durationMs('KEEPALIVE_INTERVAL').default(10 * 60_000),
  EXPIRY_WARNING: durationMs('EXPIRY_WARNING').default(7 * 86_400_000),
});

export type SessionEnv = z.infer<typeof sessionSchema>;

export interface SessionConfig {
  /** The newest SESSION_SECRET: it signs new cookies and seals new cursors. */
  secret: string;
  /** SESSION_SECRET's list, newest first: each verifies cookies and opens cursors (a rotation). */
  secrets: string[];
  /**
   * What the store's HMAC keys (subjects, the logout index) are derived from, newest first:
   * SUBJECT_KEYS, or else the OLDEST SESSION_SECRET alone, so adding a session secret at the front
   * never moves a subject's records.
   */
  subjectKeys: string[];
  /** SESSION_IDLE_TTL: a session unused this long ends (rolling). */
  idleTtlMs: number;
  /** SESSION_MAX_AGE: a session ends this long after its login, however busy. */
  maxAgeMs: number;
  store: 'sqlite' | 'redis' | 'memory';
  tokenEncryptionKeys?: string[];
  refresh: { skewMs: number; backoffMaxMs: number };
  keeper: KeeperConfig;
}

/** The keeper (session/connections/keeper.ts). */
export interface KeeperConfig {
  /** KEEPALIVE: refresh connections before their refresh token expires (off: the warnings still run). */
  enabled: boolean;
  /** KEEPALIVE_WINDOW: a connection whose refresh token expires within this is refreshed. */
  windowMs: number;
  /** KEEPALIVE_INTERVAL: a pass at start and then this often. */
  intervalMs: number;
  /** EXPIRY_WARNING: `connection.expiring` is sent this long before a connection the keeper cannot extend ends. */
  warningMs: number;
}

/** The demo's built-in session secret: public, so refused in production. */
export const DEMO_SESSION_SECRET = 'demo-only-session-secret-not-for-production-use';

const DEFAULT_IDLE_TTL_MS = 14 * 86_400_000;

export function loadSession(e: SessionEnv, run: RunMode, problems: string[], warnings: string[]): SessionConfig {
  const raw = e.SESSION_SECRET ?? (run.demo ? DEMO_SESSION_SECRET : undefined);
  if (!raw) problems.push('SESSION_SECRET: required (at least 32 characters)');
  // Unset or bad is a problem above, so the empty fallback never reaches the app.
  const secrets = raw ? secretList('SESSION_SECRET', raw, 32, problems) : [];
  const subjectKeys = e.SUBJECT_KEYS ? secretList('SUBJECT_KEYS', e.SUBJECT_KEYS, 32, problems) : secrets.slice(-1);
  if (!e.SUBJECT_KEYS && secrets.length > 1)
    warnings.push(
      'SESSION_SECRET lists several secrets and SUBJECT_KEYS is unset: subject keys come from the last (oldest) one; set SUBJECT_KEYS to it before dropping or reordering it (docs/operations.md, rotating SESSION_SECRET)',
    );
  const lifetimes = sessionLifetimes(e, problems, warnings);
  return {
    secret: secrets[0] ?? '',
    secrets,
    subjectKeys,
    idleTtlMs: lifetimes.idleMs,
    maxAgeMs: lifetimes.maxAgeMs,
    store: e.SESSION_STORE,
    tokenEncryptionKeys: tokenEncryptionKeys(e, problems),
    refresh: { skewMs: e.REFRESH_SKEW, backoffMaxMs: e.REFRESH_BACKOFF_MAX },
    keeper: keeperOf(e, problems),
  };
}

function keeperOf(e: SessionEnv, problems: string[]): KeeperConfig {
  if (e.KEEPALIVE_INTERVAL < 1000) problems.push('KEEPALIVE_INTERVAL: must be at least 1s');
  return {
    enabled: e.KEEPALIVE,
    windowMs: e.KEEPALIVE_WINDOW,
    intervalMs: e.KEEPALIVE_INTERVAL,
    warningMs: e.EXPIRY_WARNING,
  };
}

/** SESSION_IDLE_TTL (or the deprecated SESSION_TTL) and SESSION_MAX_AGE. */
function sessionLifetimes(e: SessionEnv, problems: string[], warnings: string[]): { idleMs: number; maxAgeMs: number } {
  if (e.SESSION_TTL !== undefined && e.SESSION_IDLE_TTL !== undefined)
    problems.push('SESSION_TTL: replaced by SESSION_IDLE_TTL; set only SESSION_IDLE_TTL');
  else if (e.SESSION_TTL !== undefined)
    warnings.push(
      'SESSION_TTL is deprecated: it is read as SESSION_IDLE_TTL (rolling); rename it, and see SESSION_MAX_AGE',
    );
  const idleMs = e.SESSION_IDLE_TTL ?? e.SESSION_TTL ?? DEFAULT_IDLE_TTL_MS;
  const maxAgeMs = e.SESSION_MAX_AGE;
  if (idleMs < 60_000) problems.push('SESSION_IDLE_TTL: must be at least 1m');
  if (maxAgeMs < 60_000) problems.push('SESSION_MAX_AGE: must be at least 1m');
  if (maxAgeMs > 400 * 86_400_000)
    problems.push('SESSION_MAX_AGE: must be at most 400d (browsers cap cookie lifetimes there)');
  return { idleMs, maxAgeMs };
}

/** TOKEN_ENCRYPTION_KEYS: 32-byte keys in base64, comma separated (the first encrypts, all decrypt). */
function tokenEncryptionKeys(e: SessionEnv, problems: string[]): string[] | undefined {
  if (!e.TOKEN_ENCRYPTION_KEYS) return undefined;
  const keys = e.TOKEN_ENCRYPTION_KEYS.split(',').map((k) => k.trim());
  keys.forEach((k, i) => {
    const bytes = /^[A-Za-z0-9+/_-]+=*$/.test(k) ? Buffer.from(k, 'base64') : Buffer.alloc(0);
    if (bytes.length !== 32)
      problems.push(`TOKEN_ENCRYPTION_KEYS: key #${i + 1} must be 32 bytes in base64 (openssl rand -base64 32)`);
  });
  return keys;
}

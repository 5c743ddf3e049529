/**
 * The building blocks every slice of the configuration uses: the zod helpers its schema is made
 * of, the URL checks several concerns share, and the error that lists every problem at once.
 */
import { z } from 'zod';

/** The environment as the process gives it: every variable a string, or unset. */
export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

export const durationMs = (what: string) =>
  z
    .string()
    .regex(/^\d+(ms|s|m|h|d)?$/, `${what} must be a number with an optional unit (ms, s, m, h, d), e.g. 30d`)
    .transform(parseDuration);

export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1000;
  return n * factor;
}

/** A fraction in (0, 1], e.g. 0.1 for a tenth. */
export const share = (what: string) => {
  const error = `${what} must be a fraction above 0 and at most 1, e.g. 0.1 for a tenth`;
  return z.coerce.number({ error }).gt(0, error).max(1, error);
};

export const httpUrl = (what: string) => z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL` });

export const optionalNonEmpty = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/** Plain http is tolerated on loopback only (the bundled stand-ins, local test servers). */
export const isLoopbackHttp = (url: URL) =>
  url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

/**
 * An http(s) URL for a provider endpoint. Plain http is accepted on loopback only (the
 * bundled stand-in, a local test server): anywhere else tokens would cross the network in clear.
 */
export function checkProviderUrl(name: string, value: string, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${name}: must be an http(s) URL`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`${name}: must be an http(s) URL`);
    return undefined;
  }
  if (url.protocol === 'http:' && !isLoopbackHttp(url)) {
    problems.push(`${name}: must use https (plain http is allowed for 127.0.0.1 and localhost only)`);
    return undefined;
  }
  if (url.search || url.hash || url.username || url.password) {
    problems.push(`${name}: must not carry a query, a fragment or credentials`);
    return undefined;
  }
  return url;
}

/**
 * A secret that rotates: comma separated, newest first (the first signs or seals, every one verifies
 * or opens), as TOKEN_ENCRYPTION_KEYS. Each at least `min` characters and listed once; a problem
 * names the entry by its place, never its value.
 */
export function secretList(name: string, value: string, min: number, problems: string[]): string[] {
  const list = value.split(',').map((s) => s.trim());
  const short = list.findIndex((s) => s.length < min);
  if (short >= 0) {
    const which = list.length > 1 ? ` (entry #${short + 1})` : '';
    problems.push(
      `${name}${which}: must be at least ${min} characters (openssl rand -base64 48); several are comma separated, newest first`,
    );
    return [];
  }
  if (new Set(list).size !== list.length) {
    problems.push(`${name}: the same secret is listed twice`);
    return [];
  }
  return list;
}

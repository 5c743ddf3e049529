/**
 * OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER,
 * OTEL_TRACES_SAMPLER_ARG): the standard variables, read the standard way. Unset endpoint: no
 * tracing at all, and the SDK is never loaded (shared/tracing.ts).
 */
import { z } from 'zod';
import { isLoopbackHttp, optionalNonEmpty } from './env.js';
import type { RunMode } from './core.js';

export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export type TraceSampler = (typeof TRACE_SAMPLERS)[number];

export const telemetrySchema = z.object({
  /** The OTLP/HTTP base URL; spans go to `{endpoint}/v1/traces`. Unset: tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalNonEmpty,
  OTEL_SERVICE_NAME: z.string().trim().min(1).max(128).default('xt-connect'),
  OTEL_TRACES_SAMPLER: z.enum(TRACE_SAMPLERS).default('parentbased_always_on'),
  /** The ratio of the *traceidratio samplers, in [0, 1]. */
  OTEL_TRACES_SAMPLER_ARG: optionalNonEmpty,
});

export type TelemetryEnv = z.infer<typeof telemetrySchema>;

export interface TelemetryConfig {
  /** Where the OTLP/HTTP exporter posts (`{OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`). */
  tracesUrl: string;
  serviceName: string;
  sampler: TraceSampler;
  /** The ratio of the *traceidratio samplers (1 when unset). */
  ratio: number;
}

/** The traces settings, or undefined when OTEL_EXPORTER_OTLP_ENDPOINT is unset (tracing off). */
export function loadTelemetry(e: TelemetryEnv, run: RunMode, problems: string[]): TelemetryConfig | undefined {
  const ratio = samplerRatio(e.OTEL_TRACES_SAMPLER_ARG, problems);
  const raw = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (raw === undefined) return undefined;
  const url = endpointUrl(raw.trim(), run, problems);
  if (!url) return undefined;
  return {
    tracesUrl: `${url.href.replace(/\/+$/, '')}/v1/traces`,
    serviceName: e.OTEL_SERVICE_NAME,
    sampler: e.OTEL_TRACES_SAMPLER,
    ratio,
  };
}

function samplerRatio(arg: string | undefined, problems: string[]): number {
  if (arg === undefined) return 1;
  const n = Number(arg.trim());
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    problems.push('OTEL_TRACES_SAMPLER_ARG: must be a ratio from 0 to 1, e.g. 0.1 for a tenth of the traces');
    return 1;
  }
  return n;
}

/**
 * An http(s) URL without credentials, a query or a fragment. Plain http only on loopback (a
 * collector sidecar) outside development: span names and timings would cross the network in clear.
 */
function endpointUrl(value: string, run: RunMode, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push('OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL, e.g. http://127.0.0.1:4318');
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push('OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s) URL, e.g. http://127.0.0.1:4318');
    return undefined;
  }
  if (url.username || url.password || url.search || url.hash) {
    problems.push('OTEL_EXPORTER_OTLP_ENDPOINT: must not carry credentials, a query or a fragment');
    return undefined;
  }
  if (url.protocol === 'http:' && run.env !== 'development' && !isLoopbackHttp(url)) {
    problems.push(
      'OTEL_EXPORTER_OTLP_ENDPOINT: must use https (plain http is allowed for 127.0.0.1 and localhost only, outside development)',
    );
    return undefined;
  }
  return url;
}

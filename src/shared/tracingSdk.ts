/**
 * The OpenTelemetry SDK: a Node tracer provider, the configured sampler, a batch processor and the
 * OTLP/HTTP (JSON) exporter to `{OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`. Imported dynamically by
 * tracing.ts, and only when tracing is on: nothing here is loaded otherwise.
 *
 * The propagator is W3C trace context alone (traceparent, tracestate): no baggage, so nothing a
 * caller sends rides along into our spans. Whether an incoming traceparent is read at all is
 * decided per request (http/tracing.ts: only through a trusted proxy).
 */
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TelemetryConfig } from '../config/telemetry.js';

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, as the specification reads them. */
export function samplerOf(cfg: Pick<TelemetryConfig, 'sampler' | 'ratio'>): Sampler {
  const root = (name: string): Sampler => {
    if (name === 'always_off') return new AlwaysOffSampler();
    if (name === 'traceidratio') return new TraceIdRatioBasedSampler(cfg.ratio);
    return new AlwaysOnSampler();
  };
  if (!cfg.sampler.startsWith('parentbased_')) return root(cfg.sampler);
  return new ParentBasedSampler({ root: root(cfg.sampler.slice('parentbased_'.length)) });
}

export function startSdk(cfg: TelemetryConfig): NodeTracerProvider {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: cfg.serviceName }),
    sampler: samplerOf(cfg),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: cfg.tracesUrl }))],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return provider;
}

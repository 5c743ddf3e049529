/**
 * OpenTelemetry traces, at zero cost when off. Only `@opentelemetry/api` is imported here; the SDK
 * and the OTLP exporter (tracingSdk.ts) are imported dynamically by startTracing(), and only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. While tracing is off every helper below returns at its first
 * line: no span object, no context switch.
 *
 * What goes into a span is chosen by the callers, from a short list of safe values: names, route
 * and path templates, provider ids, methods, status codes, XT.COM's `mc`, error codes. Never a
 * token, a code, a secret, a query value, a subject or an owner (docs/operations.md#traces).
 * Exceptions are never recorded (their messages may quote anything): only their code.
 */
import {
  type Attributes,
  type Context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';
import type { TelemetryConfig } from '../config/telemetry.js';

export { SpanKind };
export type { Span };

/** What the app keeps of a running SDK: flushed by tests, shut down (flushed) by the server's stop. */
export interface Tracing {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const NAME = 'xt-connect';
let on = false;
let tracer: Tracer = trace.getTracer(NAME);
let sdkLoads = 0;

/** True while an SDK is running (OTEL_EXPORTER_OTLP_ENDPOINT is set). */
export const tracingOn = (): boolean => on;

/** How many times this process imported the SDK (for the test that it is never loaded when off). */
export const sdkLoadCount = (): number => sdkLoads;

/**
 * Starts the SDK when `cfg` is set (once per app; a second start replaces the first, as tests do)
 * and returns its handle; undefined, with nothing loaded, when tracing is off.
 */
export async function startTracing(cfg: TelemetryConfig | undefined): Promise<Tracing | undefined> {
  if (!cfg) return undefined;
  sdkLoads++;
  const { startSdk } = await import('./tracingSdk.js');
  disableGlobals();
  const sdk = startSdk(cfg);
  // After registration, so the tracer is the SDK's own (a proxy tracer would keep its first delegate).
  tracer = trace.getTracer(NAME);
  on = true;
  let stopping: Promise<void> | undefined;
  return {
    forceFlush: () => sdk.forceFlush(),
    shutdown: () =>
      (stopping ??= (async () => {
        on = false;
        tracer = trace.getTracer(NAME);
        await sdk.shutdown().catch(() => undefined); // a collector that is away must not hold the stop
        disableGlobals();
      })()),
  };
}

function disableGlobals(): void {
  trace.disable();
  context.disable();
  propagation.disable();
}

/** An error's code for a span (AppError codes, socket codes), never its message. */
export function errorType(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  return err instanceof Error && /^[A-Za-z]{1,64}$/.test(err.name) ? err.name : 'internal';
}

/** Marks a span failed with the error's code. */
export function failSpan(span: Span, err: unknown): void {
  const type = errorType(err);
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Only as a child of an active span (store operations: background polling makes no traces). */
  childOnly?: boolean;
}

/**
 * Runs `fn` in a new active span, ended when it settles (failed with the error's code if it
 * throws). Off: `fn(undefined)`, nothing else.
 */
export function inSpan<T>(name: string, opts: SpanOptions, fn: (span?: Span) => Promise<T>): Promise<T> {
  if (!on || (opts.childOnly && !trace.getActiveSpan())) return fn(undefined);
  return tracer.startActiveSpan(name, { kind: opts.kind, attributes: opts.attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span the caller ends (callback-style work); undefined when off, or with `childOnly` and no active span. */
export function startSpan(name: string, opts: SpanOptions, parent?: Context): Span | undefined {
  if (!on || (opts.childOnly && !trace.getActiveSpan())) return undefined;
  return tracer.startSpan(name, { kind: opts.kind, attributes: opts.attributes }, parent ?? context.active());
}

/** An event on the active span (the refresh's lock wait, an XT.COM retry). */
export function spanEvent(name: string, attributes?: Attributes): void {
  if (on) trace.getActiveSpan()?.addEvent(name, attributes);
}

/** Attributes on the active span (an outcome known only at the end). */
export function spanAttributes(attributes: Attributes): void {
  if (on) trace.getActiveSpan()?.setAttributes(attributes);
}

/** The log line's `trace_id` and `span_id` when a span is active (pino's mixin, logger.ts; a new object each time: pino merges into it). */
export function traceFields(): { trace_id?: string; span_id?: string } {
  if (!on) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

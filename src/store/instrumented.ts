/**
 * Store metrics without touching the stores: every operation of the auth store, the outbox and the
 * express-session store is timed (xtc_store_operation_duration_seconds{store,operation}), and
 * failures are counted. The operation label is the method's name, a fixed set.
 *
 * With tracing on, each operation made within a span (a request, a refresh, a delivery) is a child
 * span `store.<operation>` with the backend and the operation's name: never its keys or values
 * (owners, subjects, sealed records). Background polling outside a span makes none.
 */
import type { Store } from 'express-session';
import type { Metrics } from '../shared/metrics.js';
import { SpanKind, failSpan, startSpan } from '../shared/tracing.js';
import type { Stores } from './types.js';

/** The span of one store operation, under the active span (undefined when tracing is off or there is none). */
const storeSpan = (store: string, operation: string) =>
  startSpan(`store.${operation}`, {
    kind: SpanKind.CLIENT,
    childOnly: true,
    attributes: { 'db.system.name': store, 'db.operation.name': operation },
  });

/** A proxy that times every method returning a promise (each method wrapped once, again only if it is replaced). */
function timed<T extends object>(target: T, store: string, metrics: Metrics): T {
  const wrapped = new Map<string, { fn: unknown; timedFn: (...args: unknown[]) => unknown }>();
  const wrap =
    (prop: string, fn: (...a: unknown[]) => unknown) =>
    (...args: unknown[]) => {
      const labels = { store, operation: prop };
      const end = metrics.storeDuration.startTimer(labels);
      const span = storeSpan(store, prop);
      const result: unknown = fn.apply(target, args);
      if (!(result instanceof Promise)) {
        end();
        span?.end();
        return result;
      }
      return result.then(
        (v: unknown) => {
          end();
          span?.end();
          return v;
        },
        (err: unknown) => {
          end();
          metrics.storeErrors.inc(labels);
          if (span) failSpan(span, err);
          span?.end();
          throw err;
        },
      );
    };
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let w = wrapped.get(prop);
      if (w?.fn !== value)
        wrapped.set(prop, (w = { fn: value, timedFn: wrap(prop, value as (...a: unknown[]) => unknown) }));
      return w.timedFn;
    },
  });
}

/** express-session's callback methods, timed in place. */
function timeSessions(sessions: Store, store: string, metrics: Metrics): void {
  const methods = sessions as unknown as Record<string, ((this: Store, ...args: unknown[]) => unknown) | undefined>;
  for (const name of ['get', 'set', 'touch', 'destroy'] as const) {
    const original = methods[name];
    if (typeof original !== 'function') continue;
    const bound = (...args: unknown[]) => original.apply(sessions, args);
    methods[name] = (...args: unknown[]) => {
      const labels = { store, operation: `session_${name}` };
      const end = metrics.storeDuration.startTimer(labels);
      const cb = args[args.length - 1];
      if (typeof cb !== 'function') {
        end();
        return bound(...args);
      }
      const span = storeSpan(store, labels.operation);
      args[args.length - 1] = (err: unknown, ...rest: unknown[]) => {
        end();
        if (err) metrics.storeErrors.inc(labels);
        if (span && err) failSpan(span, err);
        span?.end();
        (cb as (...a: unknown[]) => void)(err, ...rest);
      };
      return bound(...args);
    };
  }
}

export function instrumentStores(stores: Stores, metrics: Metrics): Stores {
  timeSessions(stores.sessions, stores.kind, metrics);
  return {
    ...stores,
    authState: timed(stores.authState, stores.kind, metrics),
    outbox: timed(stores.outbox, stores.kind, metrics),
    close: () => stores.close(),
  };
}

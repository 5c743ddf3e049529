/**
 * A deadline for every Redis command (REDIS_COMMAND_TIMEOUT), so a Redis that stops answering
 * (a paused process, a partition that drops packets) costs a request at most that long: past it
 * the caller gets AppError('store_unavailable', 503), the same as an outage.
 *
 * node-redis's own per-command `timeout` only covers a command still waiting to be written, and
 * aborting a command that was written would shift every later reply onto the wrong command. So the
 * command is left in the client's queue (its late reply is matched and dropped) and only the
 * caller stops waiting. This is done at the client's one entry point, `sendCommand`, which every
 * command goes through: our keys, connect-redis's session calls, rate-limit-redis's, and the pings.
 *
 * When a command times out and nothing at all has come back since it was sent, the connection is
 * presumed hung: later commands fail at once without being written, until a reply arrives (the
 * server woke up) or the client reconnects. Writing nothing lets the socket's inactivity timeout
 * (`socketTimeout`, see connect.ts) fire, which makes node-redis drop the silent connection
 * and reconnect.
 *
 * A cluster or Sentinel client (applyTopologyDeadline) holds one such client per node: each gets
 * the same treatment, and the whole call, waiting for a node included, gets the deadline too.
 */
import { ErrorReply } from 'redis';
import { AppError } from '../../errors.js';

type SendCommand = (this: unknown, args: unknown, options?: unknown) => Promise<unknown>;

/** node-redis rejects with Errors; anything else is wrapped so callers always get one. */
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** Runs a Redis call; any failure that is not already one of ours reaches the caller as a 503, like every store failure. */
export async function redisCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('store_unavailable', { detail: { store: 'redis' } });
  }
}

export function redisUnavailable(reason: 'timeout' | 'unresponsive'): AppError {
  return new AppError('store_unavailable', { detail: { store: 'redis', reason } });
}

export interface CommandDeadline {
  /** True while the connection is presumed hung (commands fail at once). */
  readonly hung: boolean;
  /** A new connection is ready: try it. */
  reset(): void;
}

export function applyCommandDeadline(client: object, timeoutMs: number): CommandDeadline {
  // createClient returns a proxy object; the client's own methods call `this._self.sendCommand`.
  const target = ((client as { _self?: object })._self ?? client) as { sendCommand?: SendCommand };
  const send = target.sendCommand;
  if (typeof send !== 'function') throw new Error('this Redis client has no sendCommand');
  let replies = 0; // replies (including error replies) received so far
  let hung = false;
  const answered = () => {
    replies++;
    hung = false;
  };
  target.sendCommand = function sendWithDeadline(this: unknown, args: unknown, options?: unknown): Promise<unknown> {
    if (hung) return Promise.reject(redisUnavailable('unresponsive'));
    const seen = replies;
    let pending: Promise<unknown>;
    try {
      pending = send.call(this, args, options);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (replies === seen) hung = true;
        reject(redisUnavailable('timeout'));
      }, timeoutMs);
      pending.then(
        (value) => {
          clearTimeout(timer);
          answered();
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (err instanceof ErrorReply) answered(); // the server answered, with an error
          reject(asError(err));
        },
      );
    });
  };
  return {
    get hung() {
      return hung;
    },
    reset() {
      hung = false;
    },
  };
}

/** `p`, or a 503 AppError after `ms` (`p` is left to settle on its own; its late outcome is dropped). */
export function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(redisUnavailable('timeout')), ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(asError(err));
      },
    );
  });
}

type Execute = (this: unknown, ...args: unknown[]) => Promise<unknown>;

/** How much later than a node's own deadline the whole call's deadline falls. */
const OUTER_MARGIN_MS = 50;

export interface TopologyDeadline {
  /** Gives a node's client the command deadline (once; again-ready connections are tried afresh). */
  watch(nodeClient: object): void;
}

/**
 * The deadline for a cluster or Sentinel client. node-redis sends each of their commands through
 * the top client's `_execute(…, fn)`: it picks the node (or waits for one: a slot map being
 * rediscovered, a master being found again) and calls `fn(nodeClient, …)`, which ends in that
 * node client's `sendCommand`. So `_execute` is wrapped: the node client it hands out gets
 * applyCommandDeadline the first time (a hung node is presumed hung exactly as one server is),
 * and the whole call gets the deadline as well (50 ms later, so a node's own fires first), so
 * waiting for a node cannot hold a request either.
 */
export function applyTopologyDeadline(top: object, timeoutMs: number): TopologyDeadline {
  const target = ((top as { _self?: object })._self ?? top) as { _execute?: Execute };
  const execute = target._execute;
  if (typeof execute !== 'function') throw new Error('this Redis client has no _execute');
  const watched = new WeakSet<object>();
  const watch = (nodeClient: object) => {
    const self = (nodeClient as { _self?: object })._self ?? nodeClient;
    if (watched.has(self)) return;
    watched.add(self);
    const deadline = applyCommandDeadline(nodeClient, timeoutMs);
    (nodeClient as { on(event: string, fn: () => void): unknown }).on('ready', () => deadline.reset());
  };
  target._execute = function executeWithDeadline(this: unknown, ...args: unknown[]): Promise<unknown> {
    const last = args.length - 1;
    const fn = args[last];
    if (typeof fn === 'function') {
      args[last] = (nodeClient: object, ...rest: unknown[]) => {
        watch(nodeClient);
        return (fn as (...a: unknown[]) => unknown)(nodeClient, ...rest);
      };
    }
    let pending: Promise<unknown>;
    try {
      pending = execute.apply(this, args);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    // A little later than the node's own deadline, which then fires first and can mark the node hung.
    return withDeadline(pending, timeoutMs + OUTER_MARGIN_MS);
  };
  return { watch };
}

/**
 * `xt-connect webhooks deliveries|replay`: the service API's webhook routes, from a shell, with the
 * same store calls and checks (webhooks/queries.ts). A replay here cannot wake the servers' webhook
 * workers as the route does: they find the replayed events at their next poll (about a second).
 */
import { AppError } from '../errors.js';
import {
  DELIVERY_STATUSES,
  deliveryJson,
  deliveryStatus,
  LOG_READ_MAX,
  REPLAY_MAX,
  replayQuery,
} from '../webhooks/queries.js';
import { type Command, EXIT_FAILURE, EXIT_OK, JSON_OPTION, table, UsageError } from './command.js';
import { withContext } from './runtime.js';

/** The most replay calls one command makes (REPLAY_MAX events each). */
const MAX_REPLAY_ROUNDS = 1000;

/** A store-query check (bad_request) as a usage error, so both say the same words. */
function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof AppError && err.code === 'bad_request') throw new UsageError(String(err.detail?.reason));
    throw err;
  }
}

function limitArg(value: unknown): number {
  if (value === undefined) return 50;
  const n = typeof value === 'string' && /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1)) throw new UsageError('--limit must be a positive integer');
  return n;
}

const deliveries: Command = {
  name: 'webhooks deliveries',
  summary: 'Shows the webhook delivery log, newest first (GET /v1/webhooks/deliveries).',
  usage: `[--status ${DELIVERY_STATUSES.join('|')}] [--limit <n>] [--json]`,
  help: `
Reads the attempts kept for WEBHOOK_LOG_TTL, newest first, up to --limit (default 50). Each has its
event id (webhook-id), type, status, HTTP status, duration, attempt number and error class; never a
payload, a subject or a secret.

Output: a table; with --json, one JSON object per line, each an item of GET /v1/webhooks/deliveries.

Exit codes: 0 shown (even none); 1 the store could not be read; 2 usage error.`,
  options: { status: { type: 'string' }, limit: { type: 'string' }, ...JSON_OPTION },
  args: [0, 0],
  async run(values, _args, io) {
    const status = asUsage(() => deliveryStatus(values.status as string | undefined));
    const limit = limitArg(values.limit);
    return withContext(io, async (ctx) => {
      const rows: string[][] = [['AT', 'EVENT', 'TYPE', 'STATUS', 'CODE', 'ATTEMPT', 'MS', 'ERROR']];
      let before: string | undefined;
      let shown = 0;
      do {
        const page = await ctx.stores.outbox.readAttempts({
          status,
          before,
          limit: Math.min(200, limit - shown),
          scan: LOG_READ_MAX,
        });
        for (const a of page.items.map(deliveryJson)) {
          shown += 1;
          if (values.json) io.out(JSON.stringify(a));
          else
            rows.push([
              a.at,
              a.eventId,
              a.type,
              a.status,
              String(a.statusCode ?? '-'),
              String(a.attempt),
              String(a.durationMs),
              a.errorClass ?? '-',
            ]);
        }
        before = page.last;
      } while (before !== undefined && shown < limit);
      if (!values.json) {
        for (const line of table(rows)) io.out(line);
        io.out(`${shown} attempt${shown === 1 ? '' : 's'}`);
      }
      return EXIT_OK;
    });
  },
};

const replay: Command = {
  name: 'webhooks replay',
  summary: 'Puts kept webhook events back in the queue (POST /v1/webhooks/replay).',
  usage: '--since <RFC 3339> [--until <RFC 3339>] [--id msg_… ...] [--json]',
  help: `
Dead letters, and events delivered within WEBHOOK_LOG_TTL, first created from --since to --until
(default: now), and with --id (repeatable, at most 100) only those, go back to the end of their
subject's queue, keeping their webhook-id. Unlike the route it repeats the call until nothing is
left (${REPLAY_MAX} a call). It sends nothing itself and cannot wake the servers' webhook workers: they
find the events at their next poll (about a second). A "webhooks_replayed" audit line is written
(on stderr).

Output: how many were put back, then their ids; with --json, {"replayed": n, "eventIds": […]}.

Exit codes: 0 done (even none); 1 WEBHOOK_URL is not set (no server would send them) or the store
failed; 2 usage error.`,
  options: {
    since: { type: 'string' },
    until: { type: 'string' },
    id: { type: 'string', multiple: true },
    ...JSON_OPTION,
  },
  args: [0, 0],
  async run(values, _args, io) {
    if (values.since === undefined) throw new UsageError('--since is required');
    const q = asUsage(() => replayQuery({ since: values.since, until: values.until, ids: values.id }, Date.now()));
    return withContext(io, async (ctx) => {
      if (!ctx.config.integration.webhooks) {
        io.err('WEBHOOK_URL is not set: no server sends webhooks, so nothing was replayed');
        return EXIT_FAILURE;
      }
      const eventIds: string[] = [];
      for (let round = 0; round < MAX_REPLAY_ROUNDS; round++) {
        const got = await ctx.stores.outbox.replay(q);
        eventIds.push(...got);
        if (got.length < REPLAY_MAX) break;
      }
      ctx.audit.write('webhooks_replayed', { count: eventIds.length, reason: 'operator_cli' });
      if (values.json) io.out(JSON.stringify({ replayed: eventIds.length, eventIds }));
      else {
        io.out(
          `replayed ${eventIds.length} event${eventIds.length === 1 ? '' : 's'}: the servers' webhook workers send them at their next poll`,
        );
        for (const id of eventIds) io.out(id);
      }
      return EXIT_OK;
    });
  },
};

export const webhookCommands: Command[] = [deliveries, replay];

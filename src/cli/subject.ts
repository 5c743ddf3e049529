/**
 * `xt-connect subject export <sub>`: everything this service holds about a subject, as JSON, with
 * every secret redacted (a data-subject access request, GDPR art. 15 or PIPL art. 45); and
 * `xt-connect subject erase <sub>`: all of it erased (session/subjectErase.ts).
 *
 * Included: each provider's connection record as the store holds it (opened), its tokens and the
 * provider session id shown only as present; its browser-binding epoch (when the subject was last
 * ended); the hash its audit lines carry, to find them in the log archive. Not included, and said
 * so in the output: webhook events still queued about it (the outbox is keyed by an HMAC and
 * cannot be searched by subject without reading every queue), and the back-channel logout index
 * (HMACs of provider ids, nothing readable).
 */
import type { ConnectionRecord } from '../session/connections/index.js';
import { ownerHash } from '../shared/audit.js';
import { eraseSubject } from '../session/subjectErase.js';
import { isSubject } from '../session/subjects.js';
import { type Command, EXIT_OK, UsageError } from './command.js';
import { withContext } from './runtime.js';

/** Record fields shown as they are; times are shown as RFC 3339. Any other field is shown only as present. */
const SHOWN = new Set([
  'v',
  'provider',
  'status',
  'version',
  'connectionId',
  'subject',
  'userId',
  'scope',
  'claims',
  'refreshFailures',
  'endReason',
  'slides',
]);
const TIMES = new Set([
  'accessExpiresAt',
  'refreshExpiresAt',
  'connectedAt',
  'loginStartedAt',
  'lastRefreshedAt',
  'nextRefreshAt',
  'endedAt',
  'expiryWarnedFor',
]);
export const REDACTED = '[redacted]';

/** The record with its secrets (tokens, the provider session id, any field not known to be harmless) redacted. */
export function redactRecord(rec: ConnectionRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) {
    if (v === undefined) continue;
    out[k] = SHOWN.has(k) ? v : TIMES.has(k) && typeof v === 'number' ? new Date(v).toISOString() : REDACTED;
  }
  return out;
}

const exportCommand: Command = {
  name: 'subject export',
  summary: 'Prints everything held about a subject as JSON, secrets redacted.',
  usage: '<sub>',
  help: `
Output (stdout, one JSON document): the subject; each configured provider's connection record as
stored (null when none), with its tokens and provider session id shown as "${REDACTED}" and its times
in RFC 3339; its binding epoch (when the subject was last ended, or null); the hash that its audit
lines carry; and "notIncluded", what is held about it but not exported, and why. It reads as the
server reads: a connection a back-channel logout ended reads as none (and ends then).

Exit codes: 0 exported (even when nothing is held); 1 the store could not be read; 2 usage error.`,
  options: {},
  args: [1, 1],
  async run(_values, args, io) {
    const subject = args[0];
    if (!isSubject(subject))
      throw new UsageError('subject must be 1 to 128 characters of letters, digits and . _ : @ -');
    return withContext(io, async (ctx) => {
      const owner = await ctx.subjectMoves.locate(subject); // moves nothing
      const connections: Record<string, unknown> = {};
      for (const id of ctx.providers.keys()) {
        const rec = await ctx.connections.read(owner, id);
        connections[id] = rec ? redactRecord(rec) : null;
      }
      const endedAt = await ctx.bindings.endedAt(owner);
      io.out(
        JSON.stringify(
          {
            subject,
            exportedAt: new Date().toISOString(),
            connections,
            bindings: { endedAt: endedAt ? new Date(endedAt).toISOString() : null },
            auditOwnerHash: ownerHash(owner),
            notIncluded: [
              'webhook events still queued about the subject (the outbox is keyed by an HMAC and cannot be searched by subject without reading every queue)',
              'the back-channel logout index and tombstones (HMACs of provider ids: nothing readable)',
              'audit lines (in the log archive: search for auditOwnerHash)',
            ],
          },
          null,
          2,
        ),
      );
      return EXIT_OK;
    });
  },
};

const erase: Command = {
  name: 'subject erase',
  summary: 'Erases everything held about a subject (a GDPR or PIPL erasure request).',
  usage: '<sub> --yes',
  help: `
Ends the subject's browser bindings; ends each of its connections as DELETE /v1/subjects/{sub}
does (revoked at the provider, its record and logout-index entries deleted, a connection.ended
webhook with reason revoked_by_service, a "disconnected" audit line); then removes the subject's
other webhook events (still queued before that connection.ended, kept for a replay, or dead
letters); and writes a "subject_erased" audit line. Every
audit line carries only a hash of the subject (auditOwnerHash of subject export), never the
subject. Kept: the time of the end under an HMAC of the subject (so a browser bound before cannot
connect it again) and the connection.ended events, which the servers' workers deliver (and keep
for a replay until WEBHOOK_LOG_TTL). Run it once: a second run ends nothing more but removes every
event of the subject left, a connection.ended not yet delivered too. Cannot be undone, hence --yes.
Events queued under a SUBJECT_KEYS key no longer listed cannot be found (they end by WEBHOOK_LOG_TTL).
Not reachable from the subject, so left to run out: a login in flight (at most 10 minutes; its
callback is refused) and the browser sessions bound to it (each holds the subject sealed; it is
unbound at its next request, deleted by the idle timeout at the latest).

Output: one line: the connections ended and what was removed.

Exit codes: 0 erased (also when nothing was held); 1 the store could not be written; 2 usage
error (or --yes missing).`,
  options: { yes: { type: 'boolean' } },
  args: [1, 1],
  async run(values, args, io) {
    const subject = args[0];
    if (!isSubject(subject))
      throw new UsageError('subject must be 1 to 128 characters of letters, digits and . _ : @ -');
    if (values.yes !== true) throw new UsageError('an erasure cannot be undone: add --yes to go ahead');
    return withContext(io, async (ctx) => {
      const done = await eraseSubject(
        {
          ...ctx,
          outbox: ctx.stores.outbox,
          providerIds: () => ctx.providers.keys(),
        },
        subject,
      );
      io.out(
        [
          `erased: ${done.ended.length ? `ended its connections to ${done.ended.join(', ')}` : 'it held no connection'}`,
          `removed ${done.eventsRemoved} other webhook event${done.eventsRemoved === 1 ? '' : 's'}`,
          `${done.finalEvents} connection.ended event${done.finalEvents === 1 ? '' : 's'} queued`,
        ].join('; '),
      );
      return EXIT_OK;
    });
  },
};

export const subjectCommands: Command[] = [exportCommand, erase];

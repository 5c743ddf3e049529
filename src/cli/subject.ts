/**
 * `xt-connect subject export <sub>`: everything this service holds about a subject, as JSON, with
 * every secret redacted (a data-subject access request, GDPR art. 15 or PIPL art. 45).
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

export const subjectCommands: Command[] = [exportCommand];

/**
 * `xt-connect connections list|show|end`: the service API's connection routes, from a shell.
 * `list` walks every page of GET /v1/connections (session/connections/list.ts), `show` answers
 * what GET /v1/subjects/{sub}/connections answers and `end` does what DELETE
 * /v1/subjects/{sub}[/connections/{provider}] does (session/subjectAccount.ts): the same revocation
 * at the provider, `connection.ended` events and audit lines.
 */
import type { AppContext } from '../context.js';
import {
  CONNECTION_STATES,
  type ConnectionListItem,
  type ConnectionState,
  type ListQuery,
} from '../session/connections/index.js';
import { endSubject, endSubjectConnection, type SubjectDeps, subjectConnections } from '../session/subjectAccount.js';
import { isSubject } from '../session/subjects.js';
import { type Command, EXIT_OK, JSON_OPTION, oneOf, table, UsageError } from './command.js';
import { withContext } from './runtime.js';

/** The most pages `list` reads (200 connections each): a bound, far above any deployment. */
const MAX_PAGES = 100_000;

/**
 * The service API's dependencies, but a read moves nothing: while SUBJECT_KEYS rotates, a subject's
 * records are read under whichever key holds them (a lookup by the servers moves them; `keys
 * rotate` moves them all).
 */
const deps = (ctx: AppContext): SubjectDeps => ({
  ...ctx,
  providerIds: () => ctx.providers.keys(),
  subjectMoves: { rotating: ctx.subjectMoves.rotating, resolve: (subject) => ctx.subjectMoves.locate(subject) },
});

function subjectArg(value: string | undefined): string {
  if (!isSubject(value)) throw new UsageError('subject must be 1 to 128 characters of letters, digits and . _ : @ -');
  return value;
}

function providerArg(ctx: AppContext, value: string | undefined): string | undefined {
  if (value !== undefined && !ctx.providers.has(value))
    throw new UsageError(`provider must be a configured provider: ${[...ctx.providers.keys()].join(', ')}`);
  return value;
}

/** Every connection the filter keeps, page after page, handed to `each` as it is read. */
async function walk(ctx: AppContext, q: Omit<ListQuery, 'limit'>, each: (item: ConnectionListItem) => void) {
  let after = q.after;
  for (let page = 0; page < MAX_PAGES; page++) {
    const got = await ctx.connections.list({ ...q, after, limit: 200 });
    got.items.forEach(each);
    if (!got.next) return;
    after = got.next;
  }
}

const list: Command = {
  name: 'connections list',
  summary: "Lists the subjects' connections (every page of GET /v1/connections).",
  usage: '[--state connected|reconnect_needed|ended] [--provider <id>] [--json]',
  help: `
Output: a table (subject, provider, state, user id, connected at, refresh token expiry, reason)
and a count; with --json, one JSON object per line, each an item of GET /v1/connections.

Exit codes: 0 listed (even none); 1 the store could not be read; 2 usage error.`,
  options: { state: { type: 'string' }, provider: { type: 'string' }, ...JSON_OPTION },
  args: [0, 0],
  async run(values, _args, io) {
    const state: ConnectionState | undefined = oneOf('--state', values.state, CONNECTION_STATES);
    return withContext(io, async (ctx) => {
      const provider = providerArg(ctx, values.provider as string | undefined);
      const rows: string[][] = [['SUBJECT', 'PROVIDER', 'STATE', 'USER', 'CONNECTED', 'REFRESH UNTIL', 'REASON']];
      let count = 0;
      await walk(ctx, { state, provider }, (i) => {
        count += 1;
        if (values.json) io.out(JSON.stringify(i));
        else
          rows.push([
            i.subject,
            i.provider,
            i.state,
            i.userId ?? '-',
            i.connectedAt,
            i.refreshTokenExpiresAt ?? '-',
            i.reason ?? '-',
          ]);
      });
      if (!values.json) {
        for (const line of table(rows)) io.out(line);
        io.out(`${count} connection${count === 1 ? '' : 's'}`);
      }
      return EXIT_OK;
    });
  },
};

const show: Command = {
  name: 'connections show',
  summary: "Shows a subject's connection to each provider (GET /v1/subjects/{sub}/connections).",
  usage: '<sub> [--json]',
  help: `
Reads as the service API reads: a connection whose access token is stale is refreshed first.

Output: one line per provider (connected, or why not, with the user id, scope and expiry times);
with --json, the service API's answer. Never a token.

Exit codes: 0 shown (connected or not); 1 the store could not be read; 2 usage error.`,
  options: { ...JSON_OPTION },
  args: [1, 1],
  async run(values, args, io) {
    const subject = subjectArg(args[0]);
    return withContext(io, async (ctx) => {
      const view = await subjectConnections(deps(ctx), subject);
      if (values.json) {
        io.out(JSON.stringify(view, null, 2));
        return EXIT_OK;
      }
      io.out(`subject ${subject}: ${view.connected ? 'connected' : 'not connected'}`);
      for (const [id, p] of Object.entries(view.providers)) {
        const facts = [
          p.connectionId,
          p.userId && `user ${p.userId}`,
          p.scope && `scope ${p.scope}`,
          p.accessTokenExpiresAt && `access token until ${p.accessTokenExpiresAt}`,
          p.refreshTokenExpiresAt && `refresh token until ${p.refreshTokenExpiresAt}`,
          p.lastRefreshedAt && `last refreshed ${p.lastRefreshedAt}`,
        ].filter(Boolean);
        io.out(
          `  ${id}: ${p.connected ? 'connected' : `not connected (${p.reason})`}${facts.length ? `, ${facts.join(', ')}` : ''}`,
        );
      }
      return EXIT_OK;
    });
  },
};

const end: Command = {
  name: 'connections end',
  summary: "Ends a subject's connections (DELETE /v1/subjects/{sub}[/connections/{provider}]).",
  usage: '<sub> [provider]',
  help: `
With a provider: ends the subject's connection to it, revoking its refresh token at the provider,
as DELETE /v1/subjects/{sub}/connections/{provider} does (its browser bindings stay). Without:
ends the subject, as DELETE /v1/subjects/{sub} does: every browser binding to it, then each
connection. Each ended connection sends its connection.ended webhook (reason revoked_by_service:
the servers' workers deliver it) and writes its "disconnected" audit line (on stderr, with the
subject hashed). Idempotent.

Output: what was ended, one line.

Exit codes: 0 done (also when nothing was held); 1 the store could not be written; 2 usage error.`,
  options: {},
  args: [1, 2],
  async run(_values, args, io) {
    const subject = subjectArg(args[0]);
    return withContext(io, async (ctx) => {
      const provider = providerArg(ctx, args[1]);
      if (provider !== undefined) {
        const held = await endSubjectConnection(deps(ctx), subject, provider);
        io.out(held ? `ended the connection to ${provider}` : `no connection to ${provider} was held; nothing to end`);
        return EXIT_OK;
      }
      const ended = await endSubject(deps(ctx), subject);
      io.out(
        `ended the subject's browser bindings; ${ended.length ? `ended its connections to ${ended.join(', ')}` : 'it held no connection'}`,
      );
      return EXIT_OK;
    });
  },
};

export const connectionCommands: Command[] = [list, show, end];

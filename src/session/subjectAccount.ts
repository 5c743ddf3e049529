/**
 * A subject's connections as the institution sees them, and ending them: shared by the service
 * API (GET /v1/subjects/{sub}/connections, DELETE /v1/subjects/{sub}[/connections/{provider}] in
 * routes/service.ts) and the operator CLI (cli/connections.ts), so both read and end alike: the
 * same view, the same revocation at the provider, the same events and audit lines.
 */
import { AppError } from '../errors.js';
import type { Audit } from '../shared/audit.js';
import type { BindingEpochs } from './bindings.js';
import type { Connections, ConnectionView } from './connections/index.js';
import type { Disconnected } from './connections/ending.js';
import type { SubjectMoves } from './subjectMoves.js';
import type { Subjects } from './subjects.js';

export interface SubjectDeps {
  connections: Connections;
  subjects: Subjects;
  bindings: BindingEpochs;
  audit: Audit;
  /** The configured providers' ids, in their order. */
  providerIds: () => Iterable<string>;
  /** While SUBJECT_KEYS rotates, a subject's records under an older key move to the newest first. */
  subjectMoves?: Pick<SubjectMoves, 'rotating' | 'resolve'>;
}

/** The owner key of the subject's records: the newest SUBJECT_KEYS key's, once its records moved there. */
async function ownerFor(deps: SubjectDeps, subject: string): Promise<string> {
  return deps.subjectMoves?.rotating ? deps.subjectMoves.resolve(subject) : deps.subjects.ownerOf(subject);
}

/** The service API's view of one provider: the fields of /api/session, without claims. */
export function providerJson(view: ConnectionView) {
  return {
    connected: view.connected,
    connectionId: view.connectionId ?? null,
    userId: view.userId ?? null,
    scope: view.scope ?? null,
    accessTokenExpiresAt: view.accessTokenExpiresAt ?? null,
    refreshTokenExpiresAt: view.refreshTokenExpiresAt ?? null,
    lastRefreshedAt: view.lastRefreshedAt ?? null,
    reason: view.connected ? null : (view.reason ?? 'not_connected'),
  };
}

/** A provider that cannot be reached right now is reported as such, not thrown. */
async function viewOrDown(connections: Connections, owner: string, provider: string): Promise<ConnectionView> {
  try {
    return await connections.view(owner, provider);
  } catch (err) {
    if (err instanceof AppError && err.code === 'provider_down')
      return { provider, connected: false, reason: 'provider_unavailable' };
    throw err;
  }
}

/** What GET /v1/subjects/{sub}/connections answers: the subject's connection to each provider (refreshed when stale). */
export async function subjectConnections(deps: SubjectDeps, subject: string) {
  const owner = await ownerFor(deps, subject);
  const entries = await Promise.all(
    [...deps.providerIds()].map(
      async (id) => [id, providerJson(await viewOrDown(deps.connections, owner, id))] as const,
    ),
  );
  return { subject, connected: entries.some(([, p]) => p.connected), providers: Object.fromEntries(entries) };
}

/**
 * Ends the subject's connection to `provider` wherever it is stored (under every SUBJECT_KEYS key),
 * each record under its refresh lock, in two passes: a move between keys (a lookup's, `keys
 * rotate`'s) holds the lock of the record it moves, so one in flight during the first pass has
 * landed by the second, which ends it where it went. Returns what was ended, with each owner key.
 */
export async function endEverywhere(
  deps: { connections: Pick<Connections, 'disconnect'>; subjects: Pick<Subjects, 'ownersOf'> },
  subject: string,
  provider: string,
): Promise<(Disconnected & { owner: string })[]> {
  const ended: (Disconnected & { owner: string })[] = [];
  for (let pass = 0; pass < 2; pass++)
    for (const owner of deps.subjects.ownersOf(subject)) {
      const gone = await deps.connections.disconnect(owner, provider, 'revoked_by_service', true);
      if (gone) ended.push({ ...gone, owner });
    }
  return ended;
}

/** Ends the subject's connection to one provider (revoked there, `disconnected` audit line, `connection.ended`); idempotent. Whether one was held. */
export async function endSubjectConnection(deps: SubjectDeps, subject: string, provider: string): Promise<boolean> {
  return (await endEverywhere(deps, subject, provider)).length > 0;
}

/**
 * Ends the subject (offboarding): first its binding epoch moves on, under every SUBJECT_KEYS key,
 * so no browser bound before now can connect it again (nor finish a login already under way), then
 * each of its connections ends as endSubjectConnection() ends one, and a `subject_ended` audit
 * line. Returns the providers whose connection was held.
 */
export async function endSubject(deps: SubjectDeps, subject: string): Promise<string[]> {
  const keys = deps.subjects.ownersOf(subject);
  for (const k of keys) await deps.bindings.end(k);
  const ended: string[] = [];
  for (const id of deps.providerIds()) if ((await endEverywhere(deps, subject, id)).length > 0) ended.push(id);
  deps.audit.write('subject_ended', { owner: keys[0] });
  return ended;
}

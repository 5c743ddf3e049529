/**
 * Reconnecting in place: a login's new token set renews the connection already stored for its
 * owner (active, or ended and kept as a tombstone), keeping its connection id and its subject.
 * The write is a compare-and-set of the record read, with `connection.reconnected` in the same
 * atomic step; a refresh that lands in between makes it read again.
 *
 * The new tokens must be the same person's at the provider: when both records name a user id and
 * they differ, nothing is written and reconnect_other_account is thrown (the caller discards the
 * tokens). A provider that names no user id cannot be checked, and renews.
 */
import { AppError } from '../../errors.js';
import type { TokenResponse } from '../../shared/tokens.js';
import type { BackChannel } from './logoutIndex.js';
import { type ConnectionRecord, type Records, newRecord } from './record.js';
import type { AuthStore } from '../../store/types.js';
import type { Logger } from 'pino';
import type { Provider } from '../../providers/types.js';

export interface ReconnectDeps {
  store: AuthStore;
  records: Records;
  backChannel: BackChannel;
}

/** How often the compare-and-set is tried before giving up (each loss is a write that landed meanwhile). */
const ATTEMPTS = 5;

/** True when the stored record and the new token set name two different users at the provider. */
export function otherAccount(rec: Pick<ConnectionRecord, 'userId'>, t: Pick<TokenResponse, 'userId'>): boolean {
  return rec.userId !== undefined && t.userId !== undefined && rec.userId !== t.userId;
}

/**
 * Renews `owner`'s stored connection to `provider` with `t`. Resolves the new record, or null when
 * nothing is stored to renew (the caller makes a new connection instead). Throws
 * reconnect_other_account, having written nothing, when `t` is another user's.
 */
export async function renewInPlace(
  deps: ReconnectDeps,
  owner: string,
  provider: string,
  t: TokenResponse,
  made: { subject?: string; loginStartedAt?: number },
): Promise<ConnectionRecord | null> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const { rec: prev, blob } = await deps.backChannel.read(owner, provider);
    if (!prev || prev.endReason === 'unreadable') return null;
    if (otherAccount(prev, t))
      throw new AppError('reconnect_other_account', { provider, detail: { reason: 'another user id' } });
    const connectedAt = await deps.backChannel.loginTime(provider, { sid: t.sid, sub: t.userId });
    const rec: ConnectionRecord = {
      ...newRecord(provider, t, {
        ...made,
        subject: made.subject ?? prev.subject,
        connectedAt,
        connectionId: prev.connectionId,
      }),
      // Tokens that name no user (nothing to check them against) keep the stored user id, so the
      // next reconnect is still checked against it.
      userId: t.userId ?? prev.userId,
      version: prev.version + 1,
    };
    await deps.backChannel.index(owner, rec); // first, as connect() does: a stored connection can always be found
    const event = deps.records.event(owner, 'connection.reconnected', rec);
    const sealed = deps.records.seal(owner, rec);
    const ttl = deps.records.ttlFor(owner, rec);
    // With its place in the keeper's expiry index, renewed like the tokens (record.ts dueOf).
    if (await deps.store.replaceConnection(owner, provider, sealed, ttl, blob, event, deps.records.dueOf(owner, rec))) {
      deps.records.written(event);
      // The old provider session's entry goes; the user's entry is the same key, and stays.
      if (prev.sid && prev.sid !== rec.sid) await deps.backChannel.unindex(owner, { provider, sid: prev.sid });
      return rec;
    }
  }
  throw new AppError('store_unavailable', {
    provider,
    detail: { reason: 'reconnect kept losing its compare-and-set' },
  });
}

/**
 * Revokes a refresh token at its provider, best effort: true when the provider did. Used by a
 * disconnect, and for the tokens of a refused reconnect (never stored).
 */
export async function revokeAtProvider(
  deps: { providers: Map<string, Provider>; logger: Logger },
  provider: string,
  refreshToken: string | undefined,
): Promise<boolean> {
  const p = deps.providers.get(provider);
  if (!refreshToken || !p?.revoke) return false;
  try {
    await p.revoke(refreshToken);
    return true;
  } catch (err) {
    // The code and plain details only: a failed revocation is the provider's trouble, not a bug.
    const detail = err instanceof AppError ? { code: err.code, detail: err.detail } : { code: 'internal' };
    deps.logger.warn({ provider, ...detail }, 'revocation at the provider failed; the local disconnect stands');
    return false;
  }
}

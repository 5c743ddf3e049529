/**
 * Where a finished login's tokens go: the owner (a linked login's subject, once its binding is
 * checked, else the session's new private owner id), and the store, with the session's notice.
 */
import type { Request } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import type { Provider } from '../providers/types.js';
import type { TokenResponse } from '../shared/tokens.js';
import { regenerateSession, saveSession } from '../session/middleware.js';
import { otherAccount } from '../session/connections/reconnect.js';
import { ensureOwner } from '../session/owner.js';
import { isCurrentEpoch } from './binding.js';
import { type LoginTransaction, moveTransactions } from './transaction.js';

/**
 * A new session id AND a new private owner id at login. The old session id may be known to an
 * attacker who planted it; a request of theirs that loaded it before it was destroyed can save it
 * again (express-session writes the whole record back), but the owner id it brings back no
 * longer holds anything: the new tokens go to the new owner, and whatever the old owner had
 * (its other connections, other tabs' pending logins) moves with the person. `replaced` is the
 * provider whose session connection this login replaces (none for a linked login: its tokens
 * are the subject's, and the browser's own connections stay as they are).
 */
async function rotateOwner(ctx: AppContext, req: Request, replaced: string | undefined): Promise<string> {
  const previous = req.session.owner;
  await regenerateSession(req, { owner: 'new' }); // a bound session stays bound to its subject
  const owner = ensureOwner(req);
  if (previous) {
    await moveTransactions(ctx, previous, owner);
    await ctx.connections.moveOwner(previous, owner, replaced);
  }
  return owner;
}

/**
 * A linked login completes only in the session still bound to its subject (a later link for
 * another subject in the same browser has replaced the binding and its transactions), and only in
 * the binding epoch it began in: once the subject has been ended (DELETE /v1/subjects/{sub}), a
 * login begun before that never lands, whether the end came before this callback or during it.
 */
async function checkBinding(
  ctx: AppContext,
  req: Request,
  provider: Provider,
  tx: LoginTransaction,
  subjectKey: string,
): Promise<void> {
  const expired = (reason: string) => new AppError('login_expired', { provider: provider.id, detail: { reason } });
  // Any of the subject's keys (SUBJECT_KEYS rotates; a replica a step behind bound it under another).
  if (!ctx.subjects.ownersOf(tx.subject ?? '').includes(req.session.subject ?? ''))
    throw expired('session bound to another subject');
  if ((tx.epoch ?? '') !== (req.session.subjectEpoch ?? '')) throw expired('bound again since the login began');
  if (!(await isCurrentEpoch(ctx, subjectKey, tx.epoch))) throw expired('subject ended since the login began');
}

/**
 * A reconnect approved as another user at the provider: its tokens are dropped, never stored, the
 * refusal audited, and reconnect_other_account thrown. Nothing stored is touched, not even moved.
 * They are not revoked: they are the other account's, and a provider that revokes a whole grant
 * could end that account's own stored connection (the reason discard() does not revoke either).
 */
async function refuseOtherAccount(ctx: AppContext, provider: Provider, owner: string): Promise<never> {
  ctx.audit.write('reconnect_refused', { provider: provider.id, owner, reason: 'other_account' });
  throw new AppError('reconnect_other_account', { provider: provider.id, detail: { reason: 'another user id' } });
}

/**
 * A reconnect's check before anything moves: true when a connection is stored to renew in place;
 * refused (refuseOtherAccount) when it is another user's at the provider.
 */
async function renewable(
  ctx: AppContext,
  provider: Provider,
  owner: string | undefined,
  tokens: TokenResponse,
): Promise<boolean> {
  const stored = owner === undefined ? null : await ctx.connections.read(owner, provider.id);
  if (!stored || stored.endReason === 'unreadable') return false;
  if (otherAccount(stored, tokens)) await refuseOtherAccount(ctx, provider, owner!);
  return true;
}

/** Stores a reconnect's tokens under `owner`: in place when a connection is stored there (reconnect.ts), else anew. */
async function storeReconnect(
  ctx: AppContext,
  provider: Provider,
  tx: LoginTransaction,
  owner: string,
  tokens: TokenResponse,
) {
  try {
    const { rec, renewed } = await ctx.connections.reconnect(owner, provider.id, tokens, tx.subject, tx.createdAt);
    if (renewed) ctx.audit.write('reconnected', { provider: provider.id, owner });
    return rec;
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'reconnect_other_account') throw err;
    return refuseOtherAccount(ctx, provider, owner); // the stored record changed hands meanwhile
  }
}

/** The connection's owner: the subject of a linked login, else the session's new private owner id. */
export async function storeConnection(
  ctx: AppContext,
  req: Request,
  provider: Provider,
  tx: LoginTransaction,
  tokens: TokenResponse,
): Promise<void> {
  // The newest SUBJECT_KEYS key's, with what an older key held moved there first (it is replaced, not orphaned).
  const subjectKey = tx.subject === undefined ? undefined : await ctx.subjectMoves.resolve(tx.subject);
  if (subjectKey !== undefined) await checkBinding(ctx, req, provider, tx, subjectKey);
  // A reconnect is checked before the owner id rotates: a refused one leaves everything where it was.
  const renewing = tx.reconnect === true && (await renewable(ctx, provider, subjectKey ?? req.session.owner, tokens));
  // A session's reconnect moves its connection to the new owner id (to renew it there); a login replaces it.
  const owner = await rotateOwner(ctx, req, subjectKey === undefined && !renewing ? provider.id : undefined);
  // A session's login stores under the owner id rotateOwner just made: nothing is there to replace.
  const fresh = { freshOwner: subjectKey === undefined };
  const rec = renewing
    ? await storeReconnect(ctx, provider, tx, subjectKey ?? owner, tokens)
    : await ctx.connections.connect(subjectKey ?? owner, provider.id, tokens, tx.subject, tx.createdAt, fresh);
  if (subjectKey !== undefined && !(await isCurrentEpoch(ctx, subjectKey, tx.epoch))) {
    // Ended while this login was being stored: what it stored is taken back (the end's own sweep may have run before it).
    await ctx.connections.withdraw(subjectKey, provider.id, rec);
    throw new AppError('login_expired', {
      provider: provider.id,
      detail: { reason: 'subject ended since the login began' },
    });
  }
  req.session.notice = { kind: 'connected', provider: provider.id, at: Date.now() }; // "You're connected", once
  await saveSession(req);
}

/**
 * The login transaction: what we remember between sending the person to the provider and
 * their coming back. Each one is its own record, keyed by a hash of its `state`, so two tabs
 * logging in at once both work; it expires after 10 minutes and is taken (read and deleted)
 * atomically, so a replayed callback finds nothing. At most MAX_PENDING live per session.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { AppContext } from '../context.js';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { safeEqual } from '../shared/crypto.js';
import { ensureOwner } from '../session/owner.js';
import { type PopupOpener, popupSchema } from './popup.js';
import type { LoginExtras } from '../shared/tokens.js';

export const TRANSACTION_TTL_MS = 10 * 60_000;
export const MAX_PENDING = 8;

/** A stored transaction, checked field by field when it is read back. Records from before `v` existed are version 1. */
const transactionSchema = z.object({
  v: z.literal(1).default(1),
  provider: z.string().max(32),
  state: z.string().max(512),
  createdAt: z.number(),
  returnTo: z.string().max(512),
  extras: z.record(z.string(), z.string()),
  /** The institution's user id, for a login that came with a link. */
  subject: z.string().max(128).optional(),
  /** The subject's binding epoch when the login began (session/bindings.ts): it lands only in that epoch. */
  epoch: z.string().max(64).optional(),
  /** Popup mode (popup.ts): the page on EMBED_ORIGINS that opened the login, and the state it chose. */
  popup: popupSchema.optional(),
  /** A reconnect (a link's `reconnect: true`, or the account page's Reconnect button): renew the stored connection in place. */
  reconnect: z.literal(true).optional(),
});

export type LoginTransaction = z.infer<typeof transactionSchema> & { extras: LoginExtras };

/** Parses a decrypted transaction; undefined for a shape or version this code does not know. */
function parseTransaction(plain: string): LoginTransaction | undefined {
  try {
    const r = transactionSchema.safeParse(JSON.parse(plain));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

const txId = (state: string) => createHash('sha256').update(state).digest('base64url');
const aad = (owner: string, id: string) => `login-tx:${owner}:${id}`;

export async function beginTransaction(
  ctx: AppContext,
  req: Request,
  provider: string,
  returnTo: string,
  extras: LoginExtras,
  link?: { subject: string; epoch: string },
  popup?: PopupOpener,
  reconnect?: boolean,
): Promise<LoginTransaction> {
  const owner = ensureOwner(req);
  const state = randomBytes(32).toString('base64url');
  const tx: LoginTransaction = {
    v: 1,
    provider,
    state,
    createdAt: ctx.now(),
    returnTo,
    extras,
    subject: link?.subject,
    epoch: link?.epoch,
    popup,
    ...(reconnect ? { reconnect: true as const } : {}),
  };
  const id = txId(tx.state);
  await ctx.stores.authState.putTransaction(
    owner,
    id,
    ctx.sealer.seal(JSON.stringify(tx), aad(owner, id)),
    TRANSACTION_TTL_MS,
    MAX_PENDING,
  );
  return tx;
}

/**
 * Moves every pending transaction of `from` to `to` (re-sealed for its new key), so that the
 * other tabs' logins still complete after the owner id has been rotated at login.
 */
export async function moveTransactions(ctx: AppContext, from: string, to: string): Promise<void> {
  const now = ctx.now();
  for (const { id, value, expiresAt } of await ctx.stores.authState.takeAllTransactions(from)) {
    const plain = ctx.sealer.open(value, aad(from, id));
    if (plain === undefined || expiresAt <= now) continue;
    await ctx.stores.authState.putTransaction(
      to,
      id,
      ctx.sealer.seal(plain, aad(to, id)),
      expiresAt - now,
      MAX_PENDING,
    );
  }
}

const expired = (provider: string, reason: string) => new AppError('login_expired', { provider, detail: { reason } });

/** Takes the transaction for `state`, or throws login_expired. Runs before any token call. */
export async function consumeTransaction(
  ctx: AppContext,
  req: Request,
  provider: string,
  state: string | undefined,
): Promise<LoginTransaction> {
  if (!state) throw expired(provider, 'no state');
  const owner = req.session.owner;
  if (!owner) throw expired(provider, 'no session');
  const id = txId(state);
  const blob = await ctx.stores.authState.takeTransaction(owner, id);
  if (!blob) throw expired(provider, 'unknown or used state');
  const plain = ctx.sealer.open(blob, aad(owner, id));
  if (!plain) throw expired(provider, 'unreadable transaction');
  const tx = parseTransaction(plain);
  if (!tx) {
    ctx.logger.warn({ provider }, 'a stored login transaction has an unknown shape or version; treating it as expired');
    throw expired(provider, 'unreadable transaction');
  }
  if (!safeEqual(tx.state, state)) throw expired(provider, 'state mismatch');
  if (tx.provider !== provider) throw expired(provider, 'state belongs to another provider');
  if (ctx.now() - tx.createdAt >= TRANSACTION_TTL_MS) throw expired(provider, 'state expired');
  return tx;
}

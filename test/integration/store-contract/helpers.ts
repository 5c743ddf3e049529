/**
 * What every role of the store contract shares (store-contract.test.ts runs each role over every backend,
 * as oauth2-proxy's RunSessionStoreTests does).
 */
import type { SessionData, Store } from 'express-session';
import type { ClaimedEvent, Outbox, OutboxEvent, Stores } from '../../../src/store/types.js';

/** The backend under test: `stores` is opened anew before each test; `create(twin)` opens a second instance on the same data. */
export interface Contract {
  stores: Stores;
  create: (twin?: Stores) => Promise<Stores>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const SESSION_TTL_MS = 60_000;

/** Outbox events with readable ids and increasing creation times. */
let created = 1_700_000_000_000;
export const event = (group: string, name: string, createdAt = ++created): OutboxEvent => ({
  id: `msg_${name}`,
  group,
  value: `sealed-${name}`,
  createdAt,
});
export const ids = (claimed: ClaimedEvent[]) => claimed.map((e) => e.id);

/** Claims and finishes events until none is left: every id, in the order delivered. */
export async function drain(outbox: Outbox): Promise<string[]> {
  const out: string[] = [];
  for (let batch = await outbox.claim(10, 60_000); batch.length > 0; batch = await outbox.claim(10, 60_000)) {
    for (const e of batch) await outbox.done(e.id, e.lease);
    out.push(...ids(batch));
  }
  return out;
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error('store failed'));

/** express-session's callback API, as promises. */
export const sessions = (s: Store) => ({
  set: (sid: string, data: SessionData) =>
    new Promise<void>((res, rej) => s.set(sid, data, (e?: unknown) => (e ? rej(asError(e)) : res()))),
  get: (sid: string) =>
    new Promise<SessionData | null | undefined>((res, rej) =>
      s.get(sid, (e: unknown, d) => (e ? rej(asError(e)) : res(d))),
    ),
  destroy: (sid: string) =>
    new Promise<void>((res, rej) => s.destroy(sid, (e?: unknown) => (e ? rej(asError(e)) : res()))),
  touch: (sid: string, data: SessionData) =>
    new Promise<void>((res, rej) =>
      s.touch ? s.touch(sid, data, (e?: unknown) => (e ? rej(asError(e)) : res())) : res(),
    ),
});
export const sessionData = (owner: string, maxAge = SESSION_TTL_MS): SessionData => ({
  cookie: { originalMaxAge: maxAge, maxAge, expires: new Date(Date.now() + maxAge), httpOnly: true, path: '/' },
  owner,
});

/**
 * The session record is sealed in the store (AES-256-GCM, the same keys as the token sets), bound
 * to its session id as associated data. Its owner id, subject, form token and ages decide whose
 * connections a cookie sees; in clear, anyone with write access to the store could point their own
 * session at someone else's owner id and be answered "connected" with that person's account (or
 * plant a known form token in a victim's session). Sealed, such a row does not open, and a row
 * moved under another session id does not either: either way it reads as no session at all.
 *
 * Only the cookie's own fields stay in clear, for the store's expiry.
 *
 * Upgrading: records stored in clear by an earlier version are accepted while the grace mark is
 * there, set once, at the first start of this version, for SESSION_IDLE_TTL: a session still in
 * use is sealed at its next write (at the latest its cookie's renewal, a tenth of that), and one
 * idle longer would have expired anyway. Nothing in use is lost; after the grace, a record in clear
 * is refused.
 */
import type { SessionData, Store } from 'express-session';
import type { Sealer } from './crypto.js';
import type { MarkStore } from '../store/types.js';

const ERA_MARK = 'sessions-sealed-since';
const GRACE_MARK = 'sessions-unsealed-grace';
const HUNDRED_YEARS_MS = 100 * 365 * 86_400_000;
/** How often a process checks whether the grace mark is still there. */
const GRACE_CHECK_MS = 60_000;
/** Opened records kept, by their exact sealed value (the same value opens to the same record). */
const OPENED_CACHE_SIZE = 5000;

interface Stored {
  cookie?: SessionData['cookie'];
  sealed?: unknown;
}

export interface SealedSessionsGrace {
  /** Whether a record stored in clear by an earlier version is still accepted. */
  acceptUnsealed(): boolean;
  stop(): void;
}

/** Sets the grace at this version's first start (once per store, whatever the replicas) and keeps its answer fresh. */
export async function sealedSessionsGrace(store: MarkStore, idleTtlMs: number): Promise<SealedSessionsGrace> {
  if (await store.markOnce(ERA_MARK, HUNDRED_YEARS_MS)) await store.markOnce(GRACE_MARK, idleTtlMs);
  let accept = await store.hasMark(GRACE_MARK);
  const timer = setInterval(() => {
    if (accept)
      void store.hasMark(GRACE_MARK).then(
        (v) => (accept = v),
        () => undefined,
      );
  }, GRACE_CHECK_MS);
  timer.unref();
  return { acceptUnsealed: () => accept, stop: () => clearInterval(timer) };
}

const aad = (sid: string) => `session:${sid}`;

/** Seals what `store` keeps (in place: its get and set are wrapped). */
export function sealSessions(store: Store, sealer: Sealer, grace: Pick<SealedSessionsGrace, 'acceptUnsealed'>): void {
  const opened = new Map<string, { sid: string; plain: string }>();
  const open = (sid: string, sealed: string): string | undefined => {
    const hit = opened.get(sealed);
    if (hit && hit.sid === sid) return hit.plain;
    const plain = sealer.open(sealed, aad(sid));
    if (plain === undefined) return undefined;
    if (opened.size >= OPENED_CACHE_SIZE) opened.delete(opened.keys().next().value!);
    opened.set(sealed, { sid, plain });
    return plain;
  };
  const get = store.get.bind(store);
  store.get = (sid, cb) =>
    get(sid, (err, value) => {
      if (err || !value) return cb(err, value);
      const stored = value as Stored;
      if (typeof stored.sealed !== 'string') return cb(null, grace.acceptUnsealed() ? value : null);
      const plain = open(sid, stored.sealed);
      if (plain === undefined) return cb(null, null); // tampered with, moved, or under a removed key
      try {
        cb(null, { ...(JSON.parse(plain) as SessionData), cookie: stored.cookie! });
      } catch {
        cb(null, null);
      }
    });
  const set = store.set.bind(store);
  store.set = (sid, sess, cb) => {
    const { cookie, ...data } = sess;
    set(sid, { cookie, sealed: sealer.seal(JSON.stringify(data), aad(sid)) } as unknown as SessionData, cb);
  };
}

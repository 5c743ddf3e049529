/**
 * express-session calls `store.touch` on every request that did not modify the session
 * (and with `rolling`, the cookie is re-sent each time): one store write per page view.
 * With a 30-day rolling TTL, moving the stored expiry forward at most once a minute per
 * session loses nothing, so repeated touches within `intervalMs` are skipped.
 */
import type { Store } from 'express-session';

export function throttleTouch(store: Store, intervalMs = 60_000, maxTracked = 50_000): Store {
  const touch = store.touch?.bind(store);
  if (!touch) return store;
  const last = new Map<string, number>();
  store.touch = (sid, sess, cb) => {
    const now = Date.now();
    const prev = last.get(sid);
    if (prev !== undefined && now - prev < intervalMs) {
      cb?.();
      return;
    }
    if (last.size >= maxTracked) last.clear();
    last.set(sid, now);
    touch(sid, sess, cb);
  };
  const destroy = store.destroy.bind(store);
  store.destroy = (sid, cb) => {
    last.delete(sid);
    destroy(sid, cb);
  };
  return store;
}

import session, { type SessionData } from 'express-session';
import { throttleTouch } from '../../src/session/touchThrottle.js';

/** A memory store that records which sessions were touched. */
class CountingStore extends session.MemoryStore {
  readonly touched: string[] = [];
  override touch(sid: string, sess: SessionData, cb?: () => void): void {
    this.touched.push(sid);
    super.touch(sid, sess, cb);
  }
}

test('touch reaches the store at most once per interval per session, and again after destroy', async () => {
  const store = new CountingStore();
  const calls = store.touched;
  const t = throttleTouch(store, 60_000);
  const sess = { cookie: { originalMaxAge: 1000 } } as never;
  let done = 0;
  for (let i = 0; i < 5; i++) t.touch!('a', sess, () => done++);
  t.touch!('b', sess, () => done++);
  await new Promise((r) => setImmediate(r));
  expect(done).toBe(6); // every caller is answered
  expect(calls).toEqual(['a', 'b']);
  t.destroy('a', () => undefined);
  t.touch!('a', sess, () => done++);
  expect(calls).toEqual(['a', 'b', 'a']);
});

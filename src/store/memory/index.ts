/** In-process stores: for tests, or when chosen explicitly (SESSION_STORE=memory). Lost on restart. */
import { randomBytes } from 'node:crypto';
import session from 'express-session';
import {
  type AuthStore,
  type ConnectionPage,
  type DueConnection,
  type DueQuery,
  type OutboxEvent,
  type StoredConnection,
  type Stores,
  type StoredTransaction,
  compareConnectionKeys,
} from '../types.js';
import { MemoryOutbox } from './outbox.js';
import { MemoryDueIndex } from './dueIndex.js';

interface Entry {
  value: string;
  expires: number;
  created: number;
}

export class MemoryAuthStore implements AuthStore {
  private readonly tx = new Map<string, Map<string, Entry>>();
  private readonly conns = new Map<string, Entry>();
  private readonly due = new MemoryDueIndex();
  readonly duePartitions = 1;
  private readonly locks = new Map<string, Entry>();
  private readonly marks = new Map<string, number>();
  private readonly index = new Map<string, Map<string, number>>();
  private readonly logouts = new Map<string, { at: number; expires: number }>();
  private seq = 0;

  constructor(
    private readonly now: () => number = Date.now,
    readonly outbox: MemoryOutbox = new MemoryOutbox(now),
  ) {}

  private live(e: Entry | undefined): e is Entry {
    return e !== undefined && e.expires > this.now();
  }

  async putTransaction(owner: string, id: string, value: string, ttlMs: number, max: number): Promise<void> {
    const now = this.now();
    const map = this.tx.get(owner) ?? new Map<string, Entry>();
    for (const [k, e] of map) if (!this.live(e)) map.delete(k);
    map.set(id, { value, expires: now + ttlMs, created: now * 1000 + (this.seq++ % 1000) });
    const sorted = [...map.entries()].sort((a, b) => a[1].created - b[1].created);
    while (sorted.length > max) map.delete(sorted.shift()![0]);
    this.tx.set(owner, map);
  }

  async takeTransaction(owner: string, id: string): Promise<string | null> {
    const map = this.tx.get(owner);
    const e = map?.get(id);
    map?.delete(id);
    if (map && map.size === 0) this.tx.delete(owner);
    return this.live(e) ? e.value : null;
  }

  async takeAllTransactions(owner: string): Promise<StoredTransaction[]> {
    const map = this.tx.get(owner);
    this.tx.delete(owner);
    return [...(map?.entries() ?? [])]
      .filter(([, e]) => this.live(e))
      .map(([id, e]) => ({ id, value: e.value, expiresAt: e.expires }));
  }

  async countTransactions(owner: string): Promise<number> {
    return [...(this.tx.get(owner)?.values() ?? [])].filter((e) => this.live(e)).length;
  }

  async getConnection(owner: string, provider: string): Promise<string | null> {
    const e = this.conns.get(`${owner}:${provider}`);
    return this.live(e) ? e.value : null;
  }

  async putConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    event?: OutboxEvent,
    due?: number | null,
  ): Promise<void> {
    const now = this.now();
    this.conns.set(`${owner}:${provider}`, { value, expires: now + ttlMs, created: now });
    this.due.set(`${owner}:${provider}`, due);
    if (event) this.outbox.add(event);
  }

  async replaceConnection(
    owner: string,
    provider: string,
    value: string,
    ttlMs: number,
    expected?: string,
    event?: OutboxEvent,
    due?: number | null,
  ): Promise<boolean> {
    // No await between the check and the write: nothing can slip in between.
    const e = this.conns.get(`${owner}:${provider}`);
    if (!this.live(e) || (expected !== undefined && e.value !== expected)) return false;
    const now = this.now();
    this.conns.set(`${owner}:${provider}`, { value, expires: now + ttlMs, created: now });
    this.due.set(`${owner}:${provider}`, due);
    if (event) this.outbox.add(event);
    return true;
  }

  async deleteConnection(owner: string, provider: string, event?: OutboxEvent, expected?: string): Promise<boolean> {
    const e = this.conns.get(`${owner}:${provider}`);
    if (expected !== undefined && e?.value !== expected) return false;
    const existed = this.live(e);
    this.conns.delete(`${owner}:${provider}`);
    this.due.delete(`${owner}:${provider}`);
    if (existed && event) this.outbox.add(event);
    return existed;
  }

  async countConnections(provider: string): Promise<number> {
    let n = 0;
    for (const [key, e] of this.conns) if (key.endsWith(`:${provider}`) && this.live(e)) n++;
    return n;
  }

  /** A walk over every record (this store is for tests and small single-process use). */
  async pageConnections(page: ConnectionPage): Promise<StoredConnection[]> {
    const out: StoredConnection[] = [];
    for (const [key, e] of this.conns) {
      const cut = key.lastIndexOf(':');
      const k = { owner: key.slice(0, cut), provider: key.slice(cut + 1) };
      if (!this.live(e) || !k.owner.startsWith(page.ownerPrefix)) continue;
      if (page.after && compareConnectionKeys(k, page.after) <= 0) continue;
      out.push({ ...k, value: e.value });
    }
    return out.sort(compareConnectionKeys).slice(0, page.limit);
  }

  async dueConnections(q: DueQuery): Promise<DueConnection[]> {
    return this.due.page(q, this.conns, this.now());
  }

  async markOnce(key: string, ttlMs: number): Promise<boolean> {
    // No await between the check and the write.
    const until = this.marks.get(key);
    if (until !== undefined && until > this.now()) return false;
    this.marks.set(key, this.now() + ttlMs);
    return true;
  }

  async hasMark(key: string): Promise<boolean> {
    const until = this.marks.get(key);
    return until !== undefined && until > this.now();
  }

  /** The set `key` without its expired members (and without the set, once it is empty). */
  private liveIndex(key: string): Map<string, number> | undefined {
    const set = this.index.get(key);
    if (!set) return undefined;
    const now = this.now();
    for (const [m, until] of set) if (until <= now) set.delete(m);
    if (set.size === 0) this.index.delete(key);
    return set.size ? set : undefined;
  }

  async addToIndex(key: string, member: string, ttlMs: number, max: number): Promise<void> {
    const set = this.liveIndex(key) ?? new Map<string, number>();
    set.set(member, this.now() + ttlMs);
    const soonest = [...set.entries()].sort((a, b) => a[1] - b[1]);
    while (soonest.length > max) set.delete(soonest.shift()![0]);
    this.index.set(key, set);
  }

  async readIndex(key: string): Promise<string[]> {
    return [...(this.liveIndex(key)?.keys() ?? [])];
  }

  async removeFromIndex(key: string, member: string): Promise<void> {
    this.index.get(key)?.delete(member);
    this.liveIndex(key);
  }

  async putLogoutTombstone(key: string, at: number, ttlMs: number): Promise<void> {
    const cur = this.logouts.get(key);
    const live = cur !== undefined && cur.expires > this.now();
    const expires = Math.max(this.now() + ttlMs, live ? cur.expires : 0);
    this.logouts.set(key, { at: Math.max(at, live ? cur.at : 0), expires });
  }

  async logoutTombstones(keys: string[]): Promise<number[]> {
    return keys.map((key) => {
      const t = this.logouts.get(key);
      return t && t.expires > this.now() ? t.at : 0;
    });
  }

  async acquireLock(key: string, ttlMs: number): Promise<string | null> {
    if (this.live(this.locks.get(key))) return null;
    const token = randomBytes(16).toString('hex');
    this.locks.set(key, { value: token, expires: this.now() + ttlMs, created: 0 });
    return token;
  }

  async extendLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    const e = this.locks.get(key);
    if (!this.live(e) || e.value !== token) return false;
    e.expires = this.now() + ttlMs;
    return true;
  }

  async releaseLock(key: string, token: string): Promise<void> {
    if (this.locks.get(key)?.value === token) this.locks.delete(key);
  }

  async ping(): Promise<void> {}
}

export function createMemoryStores(now?: () => number): Stores {
  const authState = new MemoryAuthStore(now);
  return {
    kind: 'memory',
    sessions: new session.MemoryStore(),
    authState,
    outbox: authState.outbox,
    async close() {},
  };
}

/** In-process stores: for tests, or when chosen explicitly (SESSION_STORE=memory). Lost on restart. */
import { randomBytes } from 'node:crypto';
import session from 'express-session';
import type { AuthStore, Stores, StoredTransaction } from './types.js';

interface Entry {
  value: string;
  expires: number;
  created: number;
}

export class MemoryAuthStore implements AuthStore {
  private readonly tx = new Map<string, Map<string, Entry>>();
  private readonly conns = new Map<string, Entry>();
  private readonly locks = new Map<string, Entry>();
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

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
    return [...(map?.entries() ?? [])].filter(([, e]) => this.live(e)).map(([id, e]) => ({ id, value: e.value, expiresAt: e.expires }));
  }

  async countTransactions(owner: string): Promise<number> {
    return [...(this.tx.get(owner)?.values() ?? [])].filter((e) => this.live(e)).length;
  }

  async getConnection(owner: string, provider: string): Promise<string | null> {
    const e = this.conns.get(`${owner}:${provider}`);
    return this.live(e) ? e.value : null;
  }

  async putConnection(owner: string, provider: string, value: string, ttlMs: number): Promise<void> {
    const now = this.now();
    this.conns.set(`${owner}:${provider}`, { value, expires: now + ttlMs, created: now });
  }

  async replaceConnection(owner: string, provider: string, value: string, ttlMs: number, expected?: string): Promise<boolean> {
    // No await between the check and the write: nothing can slip in between.
    const e = this.conns.get(`${owner}:${provider}`);
    if (!this.live(e) || (expected !== undefined && e.value !== expected)) return false;
    const now = this.now();
    this.conns.set(`${owner}:${provider}`, { value, expires: now + ttlMs, created: now });
    return true;
  }

  async deleteConnection(owner: string, provider: string): Promise<void> {
    this.conns.delete(`${owner}:${provider}`);
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
  return {
    kind: 'memory',
    sessions: new session.MemoryStore(),
    authState: new MemoryAuthStore(now),
    async close() {},
  };
}

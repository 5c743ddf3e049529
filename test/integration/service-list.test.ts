/**
 * GET /v1/connections, against the real app on SQLite and on a real redis-server: every answer is
 * checked against the contract (api/openapi.yaml). Connections are made through links at the XT.COM
 * stand-in; ended ones are written as the app would store them (sealed under their key).
 */
import request from 'supertest';
import type { ConnectionRecord } from '../../src/session/connections/index.js';
import { expectContract } from '../helpers/contract.js';
import { connectXt, type Harness, startHarness, tempDir } from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const KEY = 'backend-key-0123456789abcdef0123456789';
const bearer = { Authorization: `Bearer ${KEY}` };

interface Item {
  subject: string;
  provider: string;
  state: string;
  reason: string | null;
  userId: string | null;
}
interface Page {
  data: Item[];
  nextCursor: string | null;
}

let redis: RedisServer | undefined;
afterAll(() => redis?.stop());

const stores: [string, () => Promise<Record<string, string>>][] = [
  ['sqlite', async () => ({ SESSION_STORE: 'sqlite', DATA_DIR: tempDir() })],
  ['redis', async () => ({ SESSION_STORE: 'redis', REDIS_URL: (redis ??= await startRedis()).url })],
];

describe.each(stores)('on %s', (_kind, storeEnv) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: linkEnv({ SERVICE_API_KEYS: `backend:${KEY}`, ...(await storeEnv()) }) });
  });
  afterAll(() => h.close());

  /** GET, checked against the contract. */
  async function get(query = ''): Promise<{ status: number; body: unknown }> {
    const url = `/v1/connections${query}`;
    const res = await request(h.built.app).get(url).set(bearer);
    expectContract(res, 'GET', url);
    return res;
  }

  /** Every item, following nextCursor; each page's size too. */
  async function walk(query: string): Promise<{ items: Item[]; sizes: number[] }> {
    const items: Item[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      const page = res.body as Page;
      items.push(...page.data);
      sizes.push(page.data.length);
      cursor = page.nextCursor;
    } while (cursor);
    return { items, sizes };
  }

  /** A record as the app stores it, sealed under its key (how an ended connection looks). */
  async function storeRecord(subject: string, rec: Partial<ConnectionRecord>): Promise<void> {
    const owner = h.built.ctx.subjects.ownerOf(subject);
    const full = {
      v: 1,
      provider: 'xt',
      version: 2,
      subject,
      connectedAt: Date.now() - 1000,
      refreshFailures: 0,
      ...rec,
    };
    const sealed = h.built.ctx.sealer.seal(JSON.stringify(full), `connection:${owner}:xt`);
    await h.built.ctx.stores.authState.putConnection(owner, 'xt', sealed, 60_000);
  }

  test('empty: no items, no next page', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], nextCursor: null });
  });

  test('several pages: each subject once; filters by state and provider; unreadable and browser-only records never', async () => {
    const subjects = ['ann', 'bob', 'cy', 'dee', 'eve'];
    for (const sub of subjects)
      expect((await connectXt(request.agent(h.built.app), { link: await linkToken(sub) })).status).toBe(303);
    expect((await connectXt(request.agent(h.built.app))).status).toBe(303); // a browser-only connection
    await storeRecord('gone', { status: 'ended', endReason: 'refresh_rejected', endedAt: Date.now() });
    await storeRecord('old', { status: 'ended', endReason: 'refresh_expired', endedAt: Date.now() });
    await h.built.ctx.stores.authState.putConnection(h.built.ctx.subjects.ownerOf('broken'), 'xt', 'garbage', 60_000);

    const all = await walk('limit=2');
    expect(all.items.map((i) => i.subject).sort()).toEqual([...subjects, 'gone', 'old'].sort());
    expect(all.sizes.slice(0, -1).every((n) => n === 2)).toBe(true);
    expect(all.items.find((i) => i.subject === 'ann')).toMatchObject({
      provider: 'xt',
      state: 'connected',
      reason: null,
      userId: '12345678',
    });

    const connected = await walk('state=connected&limit=3');
    expect(connected.items.map((i) => i.subject).sort()).toEqual(subjects);
    expect((await walk('state=reconnect_needed')).items).toMatchObject([
      { subject: 'gone', reason: 'refresh_rejected' },
    ]);
    expect((await walk('state=ended')).items).toMatchObject([{ subject: 'old', reason: 'refresh_expired' }]);
    expect((await walk('provider=xt&limit=200')).items).toHaveLength(7);
    expect(h.logs.text()).toContain('records that could not be opened were skipped');
  });

  test('a limit of 1 to 200 (default 50); anything else, an unknown state or provider, a bad cursor: 400', async () => {
    expect((await get('?limit=1')).status).toBe(200);
    expect((await get('?limit=200')).status).toBe(200);
    const first = (await get('?limit=1')).body as Page;
    const forged = first.nextCursor!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    // Opaque: neither the record's key (an HMAC of the subject) nor the provider shows through.
    expect(Buffer.from(first.nextCursor!, 'base64url').toString('latin1')).not.toMatch(/sub\.|\bxt\b|oidc/);
    for (const q of [
      'limit=0',
      'limit=201',
      'limit=abc',
      'limit=1.5',
      'limit=1&limit=2',
      'state=active',
      'provider=nope',
    ])
      expect((await get(`?${q}`)).status).toBe(400);
    for (const cursor of [forged, 'abc', 'x'.repeat(600), `${first.nextCursor}x`]) {
      const res = await get(`?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status).toBe(400);
      expect((res.body as { error: { code: string } }).error.code).toBe('bad_request');
    }
  });
});

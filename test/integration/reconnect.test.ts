/**
 * Reconnecting in place (issue 25 §3), against the real app and the XT.COM stand-in, on SQLite
 * and on Redis: a link with `reconnect: true` and the account page's Reconnect button renew the
 * same connection (same subject, same connection id, `connection.reconnected`); approved as another
 * XT.COM user, nothing is replaced (the page `reconnect_other_account`, the stored record byte for
 * byte as it was, no webhook, no new tokens stored). Every /v1 answer and webhook here is checked
 * against the contract by the contract guard (test/setup/contract.ts).
 */
import request from 'supertest';
import type { Env } from '../../src/config/index.js';
import {
  type Harness,
  authorizeAtStandIn,
  connectXt,
  errorCode,
  formToken,
  startHarness,
  tempDir,
} from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { FAST, hookEnv } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver } from '../helpers/webhookReceiver.js';

const KEY = 'backend-key-0123456789abcdef0123456789';
const bearer = { Authorization: `Bearer ${KEY}` };
const CONN_ID = /^conn_[A-Za-z0-9_-]{22}$/;
const OTHER_USER = '87654321';

interface V1Xt {
  connected: boolean;
  connectionId: string | null;
  userId: string | null;
}

const v1Xt = async (h: Harness, sub: string): Promise<V1Xt> =>
  (
    (await request(h.built.app).get(`/v1/subjects/${sub}/connections`).set(bearer).expect(200)).body as {
      providers: { xt: V1Xt };
    }
  ).providers.xt;

const auditLines = (h: Harness, event: string) => h.logs.records().filter((r) => r.audit === true && r.event === event);
const storedBlob = (h: Harness, owner: string) => h.built.ctx.stores.authState.getConnection(owner, 'xt');
const types = (r: WebhookReceiver) => r.accepted.map((a) => a.body.type);

/** A login started with `link` (or the agent's own GET), approved at the stand-in (as `asUser`), and its callback. */
async function viaLink(agent: Harness['agent'], link: string, asUser?: string) {
  const login = await agent.get(`/auth/xt/login?link=${link}`);
  expect(login.status).toBe(302); // a reconnect link goes to XT.COM even while connected
  return agent.get(await authorizeAtStandIn(login.headers.location!, 'approve', asUser));
}

let redis: RedisServer | undefined;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(['sqlite', 'redis'])('reconnecting in place on %s', (store) => {
  let h: Harness;
  let receiver: WebhookReceiver;

  async function start(extra: Env = {}): Promise<void> {
    receiver = await startReceiver();
    const storeEnv: Env =
      store === 'sqlite'
        ? { SESSION_STORE: 'sqlite', DATA_DIR: tempDir() }
        : { SESSION_STORE: 'redis', REDIS_URL: redis!.url };
    const env = linkEnv({ SERVICE_API_KEYS: `backend:${KEY}`, ...hookEnv(receiver), ...storeEnv, ...extra });
    h = await startHarness({ env, app: { webhookTiming: FAST } });
  }
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
  });

  test('a link with reconnect: true keeps the subject and the connection id, and sends connection.reconnected', async () => {
    await start();
    const sub = `re-${store}-1`;
    expect((await connectXt(h.agent, { link: await linkToken(sub) })).status).toBe(303);
    const before = await v1Xt(h, sub);
    expect(before.connectionId).toMatch(CONN_ID);
    const blobBefore = await storedBlob(h, h.built.ctx.subjects.ownerOf(sub));

    const other = request.agent(h.built.app); // another browser: the institution's link is what names the subject
    const back = await viaLink(other, await linkToken(sub, { reconnect: true }));
    expect(back.status).toBe(303);
    const after = await v1Xt(h, sub);
    expect(after).toMatchObject({ connected: true, connectionId: before.connectionId, userId: before.userId });
    expect(await storedBlob(h, h.built.ctx.subjects.ownerOf(sub))).not.toBe(blobBefore); // new tokens, same connection

    await receiver.waitFor(() => receiver.accepted.length >= 2, 10_000, 'created and reconnected');
    expect(types(receiver)).toEqual(['connection.created', 'connection.reconnected']);
    for (const a of receiver.accepted)
      expect(a.body.data).toMatchObject({ subject: sub, connectionId: before.connectionId });
    expect(auditLines(h, 'reconnected')).toHaveLength(1);
    expect(auditLines(h, 'login_started').filter((l) => l.reconnect === true)).toHaveLength(1);

    // The list shows the same id.
    const list = await request(h.built.app).get('/v1/connections').set(bearer).expect(200);
    const items = (list.body as { data: { subject: string; connectionId: string }[] }).data;
    expect(items.find((i) => i.subject === sub)?.connectionId).toBe(before.connectionId);
  }, 60_000);

  test('a connection that ended (XT.COM refused its refresh) keeps its id, and a reconnect renews it under that id', async () => {
    await start();
    const sub = `re-${store}-ended`;
    expect((await connectXt(h.agent, { link: await linkToken(sub) })).status).toBe(303);
    const before = await v1Xt(h, sub);
    h.xt.revokeRefreshTokens();
    h.xt.revokeAccessTokens();
    await request(h.built.app).get(`/v1/subjects/${sub}/xt/spot/v4/balances`).set(bearer); // the refresh is refused
    const ended = await v1Xt(h, sub);
    expect(ended).toMatchObject({ connected: false, connectionId: before.connectionId });
    expect((await viaLink(request.agent(h.built.app), await linkToken(sub, { reconnect: true }))).status).toBe(303);
    expect(await v1Xt(h, sub)).toMatchObject({ connected: true, connectionId: before.connectionId });
    await receiver.waitFor(() => receiver.accepted.length >= 3, 10_000, 'created, ended and reconnected');
    expect(types(receiver)).toEqual(['connection.created', 'connection.ended', 'connection.reconnected']);
    for (const a of receiver.accepted) expect(a.body.data.connectionId).toBe(before.connectionId);
  }, 60_000);

  test('approved as another XT.COM user: the page, the old record byte for byte unchanged, no webhook, no new tokens', async () => {
    await start();
    const sub = `re-${store}-2`;
    const owner = h.built.ctx.subjects.ownerOf(sub);
    expect((await connectXt(h.agent, { link: await linkToken(sub) })).status).toBe(303);
    await receiver.waitFor(() => receiver.accepted.length >= 1, 10_000, 'created');
    const before = await v1Xt(h, sub);
    const blobBefore = await storedBlob(h, owner);
    const recBefore = await h.built.ctx.connections.read(owner, 'xt');
    const issuedBefore = h.xt.issued().length;

    const page = await viaLink(h.agent, await linkToken(sub, { reconnect: true }), OTHER_USER);
    expect(page.status).toBe(409);
    expect(errorCode(page.text)).toBe('reconnect_other_account');
    expect(page.text).toContain('href="/account"'); // the way forward
    expect(page.text).toContain('different XT.COM account');

    expect(await storedBlob(h, owner)).toBe(blobBefore);
    expect(await v1Xt(h, sub)).toEqual(before);
    // XT.COM did issue tokens for the other user; none of them is stored: the record holds the old ones.
    expect(h.xt.issued().length).toBeGreaterThan(issuedBefore);
    expect(await h.built.ctx.connections.read(owner, 'xt')).toEqual(recBefore);

    await new Promise((r) => setTimeout(r, 300)); // a webhook, if one were written, would have gone by now
    expect(types(receiver)).toEqual(['connection.created']);
    expect(auditLines(h, 'reconnect_refused')).toEqual([
      expect.objectContaining({ provider: 'xt', reason: 'other_account' }),
    ]);
    expect(auditLines(h, 'reconnected')).toHaveLength(0);
  }, 60_000);

  test("the account page's Reconnect button renews the browser's own connection, CSRF-protected", async () => {
    await start();
    expect((await connectXt(h.agent)).status).toBe(303);
    const account = await h.agent.get('/account');
    expect(account.text).toContain('action="/auth/xt/reconnect"');

    // Without the form's token: refused, nothing started.
    expect((await h.agent.post('/auth/xt/reconnect').type('form').send({})).status).toBe(403);

    const start303 = await h.agent
      .post('/auth/xt/reconnect')
      .type('form')
      .send({ _csrf: formToken(account.text) });
    expect(start303.status).toBe(303);
    const back = await h.agent.get(await authorizeAtStandIn(start303.headers.location!));
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe('/account');

    await receiver.waitFor(() => receiver.accepted.length >= 2, 10_000, 'created and reconnected');
    expect(types(receiver)).toEqual(['connection.created', 'connection.reconnected']);
    const [created, reconnected] = receiver.accepted.map((a) => a.body.data);
    expect(created!.connectionId).toMatch(CONN_ID);
    expect(reconnected).toMatchObject({ subject: null, connectionId: created!.connectionId });
    expect(/data-provider="xt" data-state="([^"]+)"/.exec((await h.agent.get('/account')).text)?.[1]).toBe('connected');
  }, 60_000);

  test('the Reconnect button approved as another user: the page, and the browser keeps its connection', async () => {
    await start();
    expect((await connectXt(h.agent)).status).toBe(303);
    const account = await h.agent.get('/account');
    const started = await h.agent
      .post('/auth/xt/reconnect')
      .type('form')
      .send({ _csrf: formToken(account.text) });
    const page = await h.agent.get(await authorizeAtStandIn(started.headers.location!, 'approve', OTHER_USER));
    expect(page.status).toBe(409);
    expect(errorCode(page.text)).toBe('reconnect_other_account');
    const again = await h.agent.get('/account');
    expect(/data-provider="xt" data-state="([^"]+)"/.exec(again.text)?.[1]).toBe('connected');
    expect(again.text).not.toContain(OTHER_USER);
    await new Promise((r) => setTimeout(r, 300));
    expect(types(receiver)).toEqual(['connection.created']);
  }, 60_000);

  test('reconnect for a subject with no connection is an ordinary connect; after an end, a new connection gets a new id', async () => {
    await start();
    const sub = `re-${store}-3`;
    expect((await viaLink(h.agent, await linkToken(sub, { reconnect: true }))).status).toBe(303);
    const first = await v1Xt(h, sub);
    expect(first.connectionId).toMatch(CONN_ID);
    await request(h.built.app).delete(`/v1/subjects/${sub}/connections/xt`).set(bearer).expect(204);
    expect((await connectXt(request.agent(h.built.app), { link: await linkToken(sub) })).status).toBe(303);
    const second = await v1Xt(h, sub);
    expect(second.connectionId).toMatch(CONN_ID);
    expect(second.connectionId).not.toBe(first.connectionId);
    await receiver.waitFor(() => receiver.accepted.length >= 3, 10_000, 'three events');
    expect(types(receiver)).toEqual(['connection.created', 'connection.ended', 'connection.created']);
  }, 60_000);
});

describe('reconnecting, on the memory store', () => {
  const EMBED = 'http://127.0.0.1:5173';
  let h: Harness;
  afterEach(() => h?.close());

  test('in popup mode a reconnect reports status connected to the opener; as another user, error with the code', async () => {
    h = await startHarness({ env: linkEnv({ EMBED_ORIGINS: EMBED, SERVICE_API_KEYS: `backend:${KEY}` }) });
    expect((await connectXt(h.agent, { link: await linkToken('pop-1') })).status).toBe(303);
    const before = await v1Xt(h, 'pop-1');
    const popup = async (state: string, asUser?: string) => {
      const q = new URLSearchParams({
        popup: '1',
        origin: EMBED,
        state,
        link: await linkToken('pop-1', { reconnect: true }),
      });
      const login = await h.agent.get(`/auth/xt/login?${q}`);
      expect(login.status).toBe(302); // to XT.COM, although connected
      const res = await h.agent.get(await authorizeAtStandIn(login.headers.location!, 'approve', asUser));
      const tag = /<section class="card[^"]*xt-popup-done"([^>]*)>/.exec(res.text)?.[1] ?? '';
      return Object.fromEntries([...tag.matchAll(/data-([a-z]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    };
    expect(await popup('opener-1')).toEqual({ origin: EMBED, state: 'opener-1', status: 'connected', provider: 'xt' });
    expect((await v1Xt(h, 'pop-1')).connectionId).toBe(before.connectionId);
    expect(await popup('opener-2', OTHER_USER)).toMatchObject({ state: 'opener-2', status: 'error' });
    expect((await v1Xt(h, 'pop-1')).userId).toBe(before.userId);
  }, 60_000);

  test('a record stored before connection ids: one derived id on every read, stored with the next write', async () => {
    h = await startHarness({ env: linkEnv({ SERVICE_API_KEYS: `backend:${KEY}` }) });
    expect((await connectXt(h.agent, { link: await linkToken('old-1') })).status).toBe(303);
    const owner = h.built.ctx.subjects.ownerOf('old-1');
    const aad = `connection:${owner}:xt`;
    const { sealer, stores } = h.built.ctx;
    const blob = (await storedBlob(h, owner))!;
    const { connectionId: _dropped, ...legacy } = JSON.parse(sealer.open(blob, aad)!) as Record<string, unknown>;
    const legacyBlob = sealer.seal(JSON.stringify(legacy), aad);
    expect(await stores.authState.replaceConnection(owner, 'xt', legacyBlob, 60_000, blob)).toBe(true);

    const first = (await v1Xt(h, 'old-1')).connectionId;
    expect(first).toMatch(CONN_ID);
    expect((await v1Xt(h, 'old-1')).connectionId).toBe(first);
    expect(JSON.parse(sealer.open((await storedBlob(h, owner))!, aad)!)).not.toHaveProperty('connectionId'); // reads write nothing

    expect((await viaLink(request.agent(h.built.app), await linkToken('old-1', { reconnect: true }))).status).toBe(303);
    expect((await v1Xt(h, 'old-1')).connectionId).toBe(first);
    expect(JSON.parse(sealer.open((await storedBlob(h, owner))!, aad)!)).toHaveProperty('connectionId', first);
  }, 60_000);
});

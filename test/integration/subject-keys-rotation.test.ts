/**
 * SUBJECT_KEYS rotates without unlinking anyone: with a new key at the front, a subject's records
 * stored under the old key are found, and moved to the new key on first use (a service API call,
 * a bound browser's request), with the subject's binding epoch; once they have moved the old key
 * can go. Across restarts on one SQLite store.
 */
import request from 'supertest';
import { Subjects } from '../../src/session/subjects.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import {
  type Harness,
  TEST_SECRET,
  connectXt,
  sessionJson,
  sidCookie,
  startHarness,
  tempDir,
} from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';

const K1 = 'subject-key-one-0123456789abcdefghijklmn';
const K2 = 'subject-key-two-0123456789abcdefghijklmn';
const KEY = 'service-key-0123456789abcdef0123456789';
let xt: XtStandIn;
let dataDir: string;
let h: Harness | undefined;
beforeAll(async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET });
  dataDir = tempDir();
});
afterEach(async () => h?.close());
afterAll(() => xt.close());

const start = async (SUBJECT_KEYS: string) => {
  h = await startHarness({
    standIn: xt,
    env: linkEnv({ SESSION_STORE: 'sqlite', DATA_DIR: dataDir, SERVICE_API_KEYS: `backend:${KEY}`, SUBJECT_KEYS }),
  });
  return h;
};
const service = (app: Harness) => (method: 'get' | 'delete', path: string) =>
  request(app.built.app)[method](path).set('Authorization', `Bearer ${KEY}`);
const subjectConnected = async (app: Harness, sub: string) =>
  ((await service(app)('get', `/v1/subjects/${sub}/connections`)).body as { connected: boolean }).connected;
const stored = (app: Harness, key: string, sub: string) =>
  app.built.ctx.stores.authState.getConnection(new Subjects([key]).ownerOf(sub), 'xt');

test('records move to the newest key on first use; the old key can then go', async () => {
  let app = await start(K1);
  await connectXt(request.agent(app.built.app), { link: await linkToken('mv-api') });
  const browser = sidCookie(await connectXt(request.agent(app.built.app), { link: await linkToken('mv-browser') }));
  await connectXt(request.agent(app.built.app), { link: await linkToken('mv-ended') });
  await connectXt(request.agent(app.built.app), { link: await linkToken('mv-idle') });
  await app.close();

  app = await start(`${K2},${K1}`);
  expect(await stored(app, K2, 'mv-api')).toBeNull();
  expect(await subjectConnected(app, 'mv-api')).toBe(true); // found under K1, moved to K2
  expect(await stored(app, K2, 'mv-api')).not.toBeNull();
  expect(await stored(app, K1, 'mv-api')).toBeNull();
  // The keeper's expiry index moved with it (SQLite: one partition).
  const due = await app.built.ctx.stores.authState.dueConnections({ before: Number.MAX_SAFE_INTEGER, limit: 100 });
  expect(due.map((d) => d.owner)).toContain(new Subjects([K2]).ownerOf('mv-api'));
  expect(due.map((d) => d.owner)).not.toContain(new Subjects([K1]).ownerOf('mv-api'));
  // A browser bound under K1 is bound again under K2 at its next request, and stays connected.
  const view = sessionJson(await request(app.built.app).get('/api/session').set('Cookie', browser));
  expect(view.providers.xt.connected).toBe(true);
  expect(await stored(app, K2, 'mv-browser')).not.toBeNull();
  // Ending a subject during the rotation reaches every key.
  expect((await service(app)('delete', '/v1/subjects/mv-ended')).status).toBe(204);
  expect(await subjectConnected(app, 'mv-ended')).toBe(false);
  await app.close();

  app = await start(K2);
  expect(await subjectConnected(app, 'mv-api')).toBe(true);
  expect(
    sessionJson(await request(app.built.app).get('/api/session').set('Cookie', browser)).providers.xt.connected,
  ).toBe(true);
  expect(await subjectConnected(app, 'mv-ended')).toBe(false);
  // Never used during the rotation: still under K1 only, so dropping K1 unlinked it (the runbook says why to wait).
  expect(await subjectConnected(app, 'mv-idle')).toBe(false);
});

test('two replicas a step apart: the first move wins, the other finds the record under its other key, never lost', async () => {
  const store = tempDir();
  const env = (SUBJECT_KEYS: string) =>
    linkEnv({ SESSION_STORE: 'sqlite', DATA_DIR: store, SERVICE_API_KEYS: `backend:${KEY}`, SUBJECT_KEYS });
  // B is a step behind (K2 added at the end, K1 still names records); A is on the new order.
  const b = await startHarness({ standIn: xt, env: env(`${K1},${K2}`) });
  await connectXt(request.agent(b.built.app), { link: await linkToken('pp-1') });
  const a = await startHarness({ standIn: xt, env: env(`${K2},${K1}`) });
  try {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => subjectConnected(i % 2 ? a : b, 'pp-1')));
    expect(answers.every(Boolean)).toBe(true);
    expect(await subjectConnected(a, 'pp-1')).toBe(true);
    // Moved once, to A's newest key, and not back.
    expect(await stored(a, K2, 'pp-1')).not.toBeNull();
    expect(await stored(a, K1, 'pp-1')).toBeNull();
  } finally {
    await b.close();
    await a.close();
  }
});

/**
 * SESSION_SECRET rotates without losing anyone, across restarts on one store: adding a secret at
 * the front keeps every cookie signed before and moves no subject (their keys come from the OLDEST
 * secret while SUBJECT_KEYS is unset); dropping the old one, with SUBJECT_KEYS pinned to it in the
 * same change, keeps every subject linked.
 */
import request from 'supertest';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import {
  type Harness,
  SESSION_SECRET,
  TEST_SECRET,
  connectXt,
  sessionJson,
  sidCookie,
  startHarness,
  tempDir,
} from '../helpers/harness.js';
import { linkEnv, linkToken } from '../helpers/link.js';

const NEW = 'the-new-session-secret-0123456789abcdefABC';
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

const start = async (env: Record<string, string>) => {
  h = await startHarness({
    standIn: xt,
    env: linkEnv({ SESSION_STORE: 'sqlite', DATA_DIR: dataDir, SERVICE_API_KEYS: `backend:${KEY}`, ...env }),
  });
  return h;
};
const connected = async (app: Harness, cookie: string) =>
  sessionJson(await request(app.built.app).get('/api/session').set('Cookie', cookie)).providers.xt.connected;
const subjectConnected = async (app: Harness, sub: string) =>
  (
    (await request(app.built.app).get(`/v1/subjects/${sub}/connections`).set('Authorization', `Bearer ${KEY}`))
      .body as { connected: boolean }
  ).connected;

test('add at the front, then drop the old one with SUBJECT_KEYS pinned: no session lost, no subject unlinked', async () => {
  let app = await start({ SESSION_SECRET });
  const plain = sidCookie(await connectXt(request.agent(app.built.app)));
  const linked = sidCookie(await connectXt(request.agent(app.built.app), { link: await linkToken('rot-1') }));
  expect(await subjectConnected(app, 'rot-1')).toBe(true);
  await app.close();

  app = await start({ SESSION_SECRET: `${NEW},${SESSION_SECRET}` });
  expect(await connected(app, plain)).toBe(true); // signed under the old secret, verified under the list
  expect(await connected(app, linked)).toBe(true);
  expect(await subjectConnected(app, 'rot-1')).toBe(true); // subject keys still from the oldest secret
  // A login now gets a cookie signed with the newest secret.
  const fresh = sidCookie(await connectXt(request.agent(app.built.app), { link: await linkToken('rot-2') }));
  await app.close();

  app = await start({ SESSION_SECRET: NEW, SUBJECT_KEYS: SESSION_SECRET });
  expect(await connected(app, fresh)).toBe(true);
  expect(await subjectConnected(app, 'rot-1')).toBe(true);
  expect(await subjectConnected(app, 'rot-2')).toBe(true);
  expect(await connected(app, plain)).toBe(false); // only a cookie never renewed in time is gone with its secret
});

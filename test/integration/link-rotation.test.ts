/**
 * LINK_SECRET rotates: a list, newest first. A token names its key with `kid` and is verified under
 * that key alone; one without `kid` (handed out before kids) is tried under each key; a `kid` that
 * names no listed key, or a key that was dropped, is refused. packages/client's mintLinkUrl sets `kid`.
 */
import { XtConnect } from '../../packages/client/src/index.js';
import { linkKid } from '../../src/auth/linkKeys.js';
import { BASE_ENV, errorCode, type Harness, startHarness } from '../helpers/harness.js';
import { LINK_SECRET, linkToken } from '../helpers/link.js';

const NEW = 'rotated-link-secret-0123456789abcdefABCDEF';
let h: Harness;
afterEach(() => h.close());

const login = (token: string) => h.agent.get(`/auth/xt/login?link=${token}`);

test('during a rotation both keys verify: by kid, or each in turn without one', async () => {
  h = await startHarness({ env: { LINK_SECRET: `${NEW},${LINK_SECRET}` } });
  for (const token of [
    await linkToken('u-new', { secret: NEW, kid: linkKid(NEW) }),
    await linkToken('u-old', { secret: LINK_SECRET, kid: linkKid(LINK_SECRET) }),
    await linkToken('u-old-nokid', { secret: LINK_SECRET }),
    await linkToken('u-new-nokid', { secret: NEW }),
  ]) {
    const res = await login(token);
    expect(res.status).toBe(302); // on to XT.COM's authorization page
    expect(res.headers.location).toContain('/accounts/oauth2');
  }
});

test('a kid that names no listed key, or another key than the one that signed, is refused', async () => {
  h = await startHarness({ env: { LINK_SECRET: `${NEW},${LINK_SECRET}` } });
  const wrongKid = await login(await linkToken('u1', { secret: LINK_SECRET, kid: linkKid(NEW) }));
  expect(wrongKid.status).toBe(400);
  expect(errorCode(wrongKid.text)).toBe('link_invalid');
  const unknown = await login(await linkToken('u2', { secret: LINK_SECRET, kid: 'not-a-listed-kid' }));
  expect(unknown.status).toBe(400);
  expect(errorCode(unknown.text)).toBe('link_invalid');
});

test('once the old key is dropped, its tokens are refused; an expired one under a listed key is link_expired', async () => {
  h = await startHarness({ env: { LINK_SECRET: NEW } });
  const old = await login(await linkToken('u1', { secret: LINK_SECRET }));
  expect(errorCode(old.text)).toBe('link_invalid');
  const expired = await login(await linkToken('u2', { secret: NEW, expIn: -120 }));
  expect(errorCode(expired.text)).toBe('link_expired');
});

test("the client's mintLinkUrl sets the kid of its key, and the app verifies it by that kid", async () => {
  h = await startHarness({ env: { LINK_SECRET: `${NEW},${LINK_SECRET}` } });
  const client = new XtConnect({ baseUrl: BASE_ENV.PUBLIC_URL!, serviceKey: 'unused', linkSecret: LINK_SECRET });
  const url = new URL(await client.mintLinkUrl({ sub: 'u-client' }));
  const token = url.searchParams.get('link')!;
  const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid?: string };
  expect(header.kid).toBe(linkKid(LINK_SECRET));
  const res = await login(token);
  expect(res.status).toBe(302);
});

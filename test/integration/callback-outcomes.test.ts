/**
 * What a person is told, and what is counted, when a login or a disconnect does not go as
 * planned (found by an adversarial review): a provider's own error is not "you declined", a
 * revocation that failed is not claimed, a disconnect of nothing confirms nothing, and a provider
 * that is down still counts (and audits) a failed login.
 */
import request from 'supertest';
import { authorizeAtStandIn, connectXt, type Harness, startHarness } from '../helpers/harness.js';
import { connectOidc, startOidcHarness } from '../helpers/oidc.js';

const stateOf = (html: string) => /<main id="main"[^>]* data-state="([^"]*)"/.exec(html)?.[1];

let h: Harness;
afterEach(() => h?.close());

/** A callback carrying `error` for a login that is really pending (the real state). */
async function callbackWithError(agent: Harness['agent'], error: string) {
  const login = await agent.get('/auth/xt/login');
  const state = new URL(login.headers.location!).searchParams.get('state')!;
  return agent.get(`/auth/xt/callback?error=${error}&state=${encodeURIComponent(state)}`);
}

test.each([
  ['access_denied', 200, 'declined', 'declined'],
  ['login_required', 200, 'declined', 'declined'],
  ['temporarily_unavailable', 502, 'unavailable', 'failed'],
  ['server_error', 502, 'unavailable', 'failed'],
  ['unauthorized_client', 502, 'misconfigured', 'failed'],
  ['invalid_scope', 502, 'misconfigured', 'failed'],
])('error=%s at the callback: status %i, state %s, counted as %s', async (error, status, state, outcome) => {
  h = await startHarness();
  const res = await callbackWithError(h.agent, error);
  expect(res.status).toBe(status);
  expect(stateOf(res.text)).toBe(state);
  const text = await h.built.ctx.metrics.text();
  expect(text).toContain(`xtc_logins_total{provider="xt",outcome="${outcome}"} 1`);
});

test('a disconnect with nothing connected confirms nothing', async () => {
  h = await startHarness();
  const login = await h.agent.get('/auth/xt/login'); // a session with an owner, and no connection
  expect(login.status).toBe(302);
  const { csrfToken } = (await h.agent.get('/api/session')).body as { csrfToken: string };
  expect((await h.agent.post('/auth/xt/logout').type('form').send({ _csrf: csrfToken })).status).toBe(303);
  expect(stateOf((await h.agent.get('/')).text)).toBe('not-connected');
});

test('a revocation that failed is not claimed on the confirmation', async () => {
  const o = await startOidcHarness({ env: { OIDC_PROVIDER_LOGOUT: 'false' } }); // the confirmation at once, without the provider's logout page
  try {
    expect((await connectOidc(o.agent)).status).toBe(303);
    o.oidc.failNext('revocation', 'http500');
    const account = await o.agent.get('/account');
    const token = /name="_csrf" value="([^"]+)"/.exec(account.text)![1]!;
    expect((await o.agent.post('/auth/oidc/logout').type('form').send({ _csrf: token })).status).toBe(303);
    const home = await o.agent.get('/');
    expect(stateOf(home.text)).toBe('disconnected');
    expect(home.text).not.toContain('withdraw the access');
  } finally {
    await o.close();
  }
});

test('a login whose provider is down is counted and audited as failed', async () => {
  const o = await startOidcHarness({ issuer: 'http://127.0.0.1:9', awaitDiscovery: false });
  try {
    const res = await request(o.built.app).get('/auth/oidc/callback?code=abc&state=def');
    expect(res.status).toBe(503);
    expect(await o.built.ctx.metrics.text()).toContain('xtc_logins_total{provider="oidc",outcome="failed"} 1');
    expect(
      o.logs.records().some((r) => r.audit === true && r.event === 'login_failed' && r.reason === 'provider_down'),
    ).toBe(true);
  } finally {
    await o.close();
  }
});

test('the stand-in deny still reads as declined end to end', async () => {
  h = await startHarness();
  const login = await h.agent.get('/auth/xt/login');
  const back = await authorizeAtStandIn(login.headers.location!, 'deny');
  const res = await h.agent.get(back);
  expect(res.status).toBe(200);
  expect(stateOf(res.text)).toBe('declined');
  expect((await connectXt(h.agent)).status).toBe(303);
});

/**
 * Cross-site request forgery on the state-changing routes (logout is the only one). Each test
 * fails against a naive implementation.
 */
import request from 'supertest';
import { type Harness, connectXt, errorCode, formToken, startHarness, sessionJson } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('CSRF on state-changing routes', () => {
  test('a form token from another session is refused', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    const other = request.agent(h.built.app);
    await connectXt(other);
    const otherToken = formToken((await other.get('/account')).text);
    const res = await h.agent.post('/auth/xt/logout').type('form').send({ _csrf: otherToken });
    expect(res.status).toBe(403);
    expect(sessionJson(await h.agent.get('/api/session')).connected).toBe(true);
  });

  test('a cross-site form post (foreign Origin, no token) is refused even with the cookie', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    const res = await h.agent.post('/auth/xt/logout').set('Origin', 'https://attacker.example').type('form').send('');
    expect(res.status).toBe(403);
    expect(errorCode(res.text)).toBe('csrf_failed');
  });

  test('the csrf_refused audit line names the provider of the route, and only a configured one (never a name from the path)', async () => {
    h = await startHarness();
    await connectXt(h.agent);
    await h.agent.post('/auth/xt/logout').type('form').send({ _csrf: 'forged' });
    await h.agent.post('/auth/evil-provider/logout').set('Origin', 'https://attacker.example').type('form').send('');
    const refused = h.logs.records().filter((r) => r.audit === true && r.event === 'csrf_refused');
    expect(refused.map((r) => [r.provider, r.reason])).toEqual([
      ['xt', 'bad form token'],
      [undefined, 'foreign origin'],
    ]);
    expect(JSON.stringify(refused)).not.toContain('evil-provider');
  });
});

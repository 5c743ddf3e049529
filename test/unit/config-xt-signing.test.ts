/** The settings of signed XT.COM calls: XT_API_KEY, XT_API_SECRET, XT_SIGN_STYLE, XT_RECV_WINDOW. */
import { loadConfig } from '../../src/config/index.js';

const good = { SESSION_SECRET: 'x'.repeat(32), XT_CLIENT_ID: 'the-client-id', XT_CLIENT_SECRET: 'the-client-secret' };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig({ ...good, ...env });
    return '';
  } catch (e) {
    return (e as Error).message;
  }
};

test('by default the client id and secret sign, in the method style, with a 5 s window', () => {
  expect(loadConfig(good).xt).toMatchObject({
    apiKey: 'the-client-id',
    apiSecret: 'the-client-secret',
    signStyle: 'method',
    recvWindowMs: 5000,
  });
});

test('a separate API key and secret, the path style and another window', () => {
  const xt = loadConfig({
    ...good,
    XT_API_KEY: 'k-1',
    XT_API_SECRET: 's-1',
    XT_SIGN_STYLE: 'path',
    XT_RECV_WINDOW: '60s',
  }).xt;
  expect(xt).toMatchObject({ apiKey: 'k-1', apiSecret: 's-1', signStyle: 'path', recvWindowMs: 60_000 });
  expect(loadConfig({ ...good, XT_RECV_WINDOW: '2500ms' }).xt?.recvWindowMs).toBe(2500);
});

test.each([
  [{ XT_SIGN_STYLE: 'hmac' }, 'XT_SIGN_STYLE: must be method or path'],
  [{ XT_RECV_WINDOW: '61s' }, 'XT_RECV_WINDOW: must be between 1ms and 60s'],
  [{ XT_RECV_WINDOW: '0ms' }, 'XT_RECV_WINDOW: must be between 1ms and 60s'],
  [{ XT_RECV_WINDOW: 'soon' }, 'XT_RECV_WINDOW'],
  [{ XT_API_KEY: 'k-only' }, 'XT_API_KEY, XT_API_SECRET: set both or neither'],
  [{ XT_API_SECRET: 's-only' }, 'XT_API_KEY, XT_API_SECRET: set both or neither'],
])('%j stops the app: %s', (env, message) => {
  expect(problems(env)).toContain(message);
});

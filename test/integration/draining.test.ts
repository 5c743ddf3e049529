/**
 * A graceful stop drains kept-alive connections: during the drain window readiness fails, every
 * response carries `Connection: close` and its connection is then closed, a request arriving on
 * a kept-alive connection is answered (never reset), and the stop does not wait for the
 * force-close timer.
 */
import http from 'node:http';
import { loadConfig } from '../../src/config/index.js';
import { type Running, start } from '../../src/server.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import {
  LogCapture,
  SESSION_SECRET,
  TEST_SECRET,
  authorizeAtStandIn,
  scanLogs,
  tempDir,
  xtEnv,
} from '../helpers/harness.js';

let xt: XtStandIn;
let running: Running | undefined;
const logs = new LogCapture();

afterEach(async () => {
  await running?.stop();
  await xt?.close();
  scanLogs(logs, [TEST_SECRET, SESSION_SECRET, ...(xt?.issued() ?? [])]); // as every harness does at close
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  socketClosed: Promise<void>;
}

function get(agent: http.Agent, url: string, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: cookie ? { cookie } : {} }, (res) => {
      const socketClosed = new Promise<void>((r) => (res.socket.destroyed ? r() : res.socket.once('close', () => r())));
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, socketClosed }));
    });
    req.on('error', reject);
  });
}

test('a request in flight on a kept-alive connection is answered with Connection: close, and the stop ends promptly', async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET, tokenDelayMs: 600 });
  const config = loadConfig(xtEnv(xt, { PORT: '0', SHUTDOWN_DRAIN: '300ms' }));
  running = await start(config, '127.0.0.1', { logDestination: logs });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  const login = await get(agent, `${running.url}/auth/xt/login`);
  expect(login.headers.connection).toBe('keep-alive');
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const callbackPath = await authorizeAtStandIn(String(login.headers.location));

  // The callback waits 600 ms on the token endpoint; the stop begins while it is in flight.
  const inFlight = get(agent, `${running.url}${callbackPath}`, cookie);
  await new Promise((r) => setTimeout(r, 150));
  const began = Date.now();
  const stopped = running.stop();
  const answer = await inFlight;
  expect(answer.status).toBe(303);
  expect(answer.headers.connection).toBe('close');
  await answer.socketClosed;
  await stopped;
  expect(Date.now() - began).toBeLessThan(2000); // not the 10 s force-close
  running = undefined;
  agent.destroy();
});

test('during the drain window: /readyz fails, an idle kept-alive connection still gets its answer, then closes', async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET });
  const config = loadConfig(xtEnv(xt, { PORT: '0', SHUTDOWN_DRAIN: '500ms' }));
  running = await start(config, '127.0.0.1', { logDestination: logs });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  expect((await get(agent, `${running.url}/readyz`)).headers.connection).toBe('keep-alive'); // the socket is now idle in the pool

  const stopped = running.stop();
  await new Promise((r) => setTimeout(r, 50)); // the stop has begun; the pooled socket is idle
  const answer = await get(agent, `${running.url}/api/session`);
  expect(answer.status).toBe(200);
  expect(answer.headers.connection).toBe('close');
  await answer.socketClosed;
  const ready = await get(new http.Agent({ keepAlive: false }), `${running.url}/readyz`);
  expect(ready.status).toBe(503);
  await stopped;
  running = undefined;
  agent.destroy();
});

test('keep-alive clients under load through a stop: every request sent in the drain window is answered, none reset', async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET });
  const drainMs = 1500;
  const config = loadConfig(xtEnv(xt, { PORT: '0', SHUTDOWN_DRAIN: `${drainMs}ms` }));
  running = await start(config, '127.0.0.1', { logDestination: logs });
  const url = running.url;
  const agents = Array.from({ length: 12 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  let stopAt = Infinity;
  const outcomes = { sent: 0, ok: 0, closing: 0, errors: [] as string[] };
  const client = async (agent: http.Agent) => {
    // Stop sending well inside the drain window, so every request here is one the app must answer.
    for (let i = 0; i < 400 && Date.now() < stopAt + drainMs / 3; i++) {
      outcomes.sent++;
      try {
        const a = await get(agent, `${url}/api/session`);
        outcomes.ok += a.status === 200 ? 1 : 0;
        if (a.headers.connection === 'close') outcomes.closing++;
      } catch (err) {
        outcomes.errors.push((err as { code?: string }).code ?? String(err));
      }
      await new Promise((r) => setTimeout(r, Math.random() * 15));
    }
  };
  const load = Promise.all(agents.map(client));
  await new Promise((r) => setTimeout(r, 300));
  stopAt = Date.now();
  const stopped = running.stop();
  await load;
  await stopped;
  running = undefined;
  for (const a of agents) a.destroy();
  // Every request sent was answered 200, however many a loaded machine managed to send (at least one per client).
  expect(outcomes.errors).toEqual([]);
  expect(outcomes.sent).toBeGreaterThanOrEqual(agents.length);
  expect(outcomes.ok).toBe(outcomes.sent);
  expect(outcomes.closing).toBeGreaterThan(0);
});

test('a refresh in flight when the stop begins is completed and stored: after a restart no second refresh is needed', async () => {
  xt = await startXtStandIn({ clientSecret: TEST_SECRET, accessTtlSec: 3, rotateRefreshTokens: true });
  const env = xtEnv(xt, { PORT: '0', SHUTDOWN_DRAIN: '200ms', SESSION_STORE: 'sqlite', DATA_DIR: tempDir() });
  running = await start(loadConfig(env), '127.0.0.1', { logDestination: logs });
  const agent = new http.Agent({ keepAlive: false });
  const login = await get(agent, `${running.url}/auth/xt/login`);
  const callback = await get(
    agent,
    `${running.url}${await authorizeAtStandIn(String(login.headers.location))}`,
    String(login.headers['set-cookie']).split(';')[0],
  );
  expect(callback.status).toBe(303);
  const cookie = String(callback.headers['set-cookie']).split(';')[0]!; // the session id changes at login

  // Past 90 % of the token's 3 s (second-granular `exp`): due for a refresh, which waits 800 ms at XT.COM.
  await new Promise((r) => setTimeout(r, 2900));
  xt.options.tokenDelayMs = 800;
  const inFlight = get(agent, `${running.url}/api/session`, cookie);
  await new Promise((r) => setTimeout(r, 200));
  const stopped = running.stop();
  const answer = await inFlight;
  expect(answer.status).toBe(200);
  await stopped;
  running = undefined;
  expect(xt.calls.refresh_token).toBe(1);

  // A new process on the same store: the refreshed tokens are there (the old refresh token was rotated away).
  xt.options.tokenDelayMs = 0;
  running = await start(loadConfig(env), '127.0.0.1', { logDestination: logs });
  const after = await fetch(`${running.url}/api/session`, { headers: { cookie } });
  expect(((await after.json()) as { connected: boolean }).connected).toBe(true);
  expect(xt.calls.refresh_token).toBe(1);
  agent.destroy();
});

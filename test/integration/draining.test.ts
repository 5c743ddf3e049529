/**
 * A graceful stop drains kept-alive connections: the response to a request in flight carries
 * `Connection: close`, the connection is then closed, and the stop does not wait for the
 * force-close timer.
 */
import http from 'node:http';
import { loadConfig } from '../../src/config.js';
import { type Running, start } from '../../src/server.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { LogCapture, TEST_SECRET, authorizeAtStandIn, xtEnv } from '../helpers/harness.js';

let xt: XtStandIn;
let running: Running | undefined;

afterEach(async () => {
  await running?.stop();
  await xt?.close();
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
  const config = loadConfig(xtEnv(xt, { PORT: '0' }));
  running = await start(config, '127.0.0.1', { logDestination: new LogCapture() });
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

/**
 * The real app for the client's tests: the exported app (test/helpers/harness.ts, with its XT.COM
 * stand-in) listening on a loopback port, PUBLIC_URL set to that port so that links minted for
 * `baseUrl` carry the right `aud`, and a way to finish a connection from a link URL as a browser
 * would (the stand-in's Authorize button).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Env } from '../../../src/config/index.js';
import type { AppOptions } from '../../../src/context.js';
import { type Harness, authorizeAtStandIn, startHarness } from '../../../test/helpers/harness.js';
import { LINK_SECRET } from '../../../test/helpers/link.js';
import { XtConnect, type XtConnectOptions } from '../src/index.js';

export { LINK_SECRET };
export const KEY = 'backend-key-0123456789abcdef0123456789';
/** A key with the `read` scope only. */
export const READ_KEY = 'read-only-key-0123456789abcdef01234567';

export interface RunningApp {
  h: Harness;
  baseUrl: string;
  /** A client for this app with the full key and the link secret (and `extra`). */
  client(extra?: Partial<XtConnectOptions>): XtConnect;
  close(): Promise<void>;
}

/** Starts the app on 127.0.0.1 (a free port), with links, two service keys and `env` on top. */
export async function startApp(env: Env = {}, app: AppOptions = {}): Promise<RunningApp> {
  const slot: { app?: http.RequestListener } = {};
  const server = http.createServer((req, res) => slot.app!(req, res));
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const h = await startHarness({
    env: {
      PUBLIC_URL: baseUrl,
      LINK_SECRET,
      SERVICE_API_KEYS: `backend:${KEY},reports:${READ_KEY}:read`,
      ...env,
    },
    app,
  });
  slot.app = h.built.app;
  return {
    h,
    baseUrl,
    client: (extra = {}) => new XtConnect({ baseUrl, serviceKey: KEY, linkSecret: LINK_SECRET, ...extra }),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await h.close();
    },
  };
}

/** The `name=value` pairs a response sets. */
const cookiesOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

/**
 * Opens a link URL as the person's browser would: the login (302 to the stand-in, with the bound
 * session's cookie), the stand-in's Authorize button, then the callback with that cookie. Returns
 * the callback's answer (a 303 to returnTo when the connection was stored).
 */
export async function openLink(url: string): Promise<Response> {
  const login = await fetch(url, { redirect: 'manual' });
  if (login.status !== 302) throw new Error(`the login answered ${login.status}`);
  const cookie = cookiesOf(login);
  const callback = await authorizeAtStandIn(login.headers.get('location')!);
  return fetch(new URL(callback, url), { headers: { cookie }, redirect: 'manual' });
}

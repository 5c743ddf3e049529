/**
 * OpenTelemetry traces (issue 26 §4), against a local OTLP/HTTP receiver: one login and one /api/xt
 * call give the expected spans, linked parent to child, with safe attributes only; a traceparent
 * is honoured through a trusted proxy and ignored otherwise; log lines carry the trace; and no
 * exported byte holds a token, a code, a secret, a query value, a subject or an owner.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../src/app.js';
import { appChild } from '../helpers/child.js';
import { BASE_ENV, type Harness, authorizeAtStandIn, startHarness } from '../helpers/harness.js';
import { freePort } from '../helpers/ports.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlpReceiver.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${PARENT}-01`;
const PROXY_ID = 'nginx-req-0123456789abcdef';

let receiver: OtlpReceiver;
let h: Harness | undefined;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await h?.close();
  await h?.built.ctx.tracing?.shutdown();
  h = undefined;
  await receiver.close();
});

/** A harness exporting to the receiver; `owners` collects the owner ids its logins store under. */
async function tracedHarness(trustProxy: string, owners: string[] = []): Promise<Harness> {
  return startHarness({
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, TRUST_PROXY: trustProxy },
    app: { onConnected: (owner) => owners.push(owner) },
  });
}

async function exported(harness: Harness): Promise<ReceivedSpan[]> {
  await harness.built.ctx.tracing!.forceFlush();
  return receiver.spans;
}

const byName = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
  const hit = spans.filter((s) => s.name === name);
  if (hit.length !== 1) throw new Error(`${hit.length} spans named ${name}: ${spans.map((s) => s.name).join(', ')}`);
  return hit[0]!;
};

/** True when `span` is under `root` (its parent, or its parent's parent, …). */
function isUnder(spans: ReceivedSpan[], span: ReceivedSpan, root: ReceivedSpan): boolean {
  const ids = new Map(spans.map((s) => [s.spanId, s]));
  for (let p = span.parentSpanId; p !== undefined; p = ids.get(p)?.parentSpanId) if (p === root.spanId) return true;
  return false;
}

/** One login through the stand-in and one /api/xt call, sent as nginx would (traceparent, X-Request-Id). */
async function loginAndCall(harness: Harness) {
  const login = await harness.agent.get('/auth/xt/login').set('traceparent', TRACEPARENT);
  expect(login.status).toBe(302);
  const state = new URL(login.headers.location!).searchParams.get('state')!;
  const callbackPath = await authorizeAtStandIn(login.headers.location!);
  expect((await harness.agent.get(callbackPath)).status).toBe(303);
  const api = await harness.agent
    .get('/api/xt/spot/v4/balances?currencies=usdt,btc')
    .set('X-Request-Id', PROXY_ID)
    .set('traceparent', TRACEPARENT);
  expect(api.status).toBe(200);
  return { state, code: new URLSearchParams(callbackPath.split('?')[1]).get('code')!, api };
}

test('a login and an /api/xt call: the spans, their links and their attributes', async () => {
  const owners: string[] = [];
  h = await tracedHarness('loopback', owners);
  const { state, code, api } = await loginAndCall(h);
  expect(api.headers['x-request-id']).toBe(PROXY_ID); // kept: it came through a trusted proxy
  const spans = await exported(h);

  // The login: its server span continues the proxy's trace, with auth.login inside.
  const loginServer = byName(spans, 'GET /auth/:provider/login');
  expect(loginServer).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, kind: 2, service: 'xt-connect' });
  expect(loginServer.attributes).toMatchObject({
    'http.route': '/auth/:provider/login',
    'http.response.status_code': 302,
  });
  expect(byName(spans, 'auth.login').parentSpanId).toBe(loginServer.spanId);
  expect(byName(spans, 'auth.login').attributes).toEqual({ 'xtc.provider': 'xt' });

  // The callback: the code exchange is a client span under auth.callback, itself under the server span.
  const callbackServer = byName(spans, 'GET /auth/:provider/callback');
  const callback = byName(spans, 'auth.callback');
  expect(callback.parentSpanId).toBe(callbackServer.spanId);
  const exchange = byName(spans, 'provider.code_exchange');
  expect(exchange).toMatchObject({ parentSpanId: callback.spanId, kind: 3, attributes: { 'xtc.provider': 'xt' } });
  const callbackStores = spans.filter((s) => s.name.startsWith('store.') && isUnder(spans, s, callbackServer));
  expect(callbackStores.map((s) => s.name)).toEqual(
    expect.arrayContaining(['store.takeTransaction', 'store.putConnection']),
  );

  // The /api/xt call: named by the allow-list pattern, never the query.
  const apiServer = byName(spans, 'GET /api/xt/spot/v4/balances');
  expect(apiServer.traceId).toBe(TRACE);
  const xt = byName(spans, 'XT.COM GET /spot/v4/balances');
  expect(xt.parentSpanId).toBe(apiServer.spanId);
  expect(xt.attributes).toEqual({
    'http.request.method': 'GET',
    'xt.path_template': '/spot/v4/balances',
    'xtc.caller': 'person',
    'http.response.status_code': 200,
    'xt.outcome': 'answer',
    'xt.mc': 'SUCCESS',
  });
  const apiStores = spans.filter((s) => s.name.startsWith('store.') && isUnder(spans, s, apiServer));
  expect(apiStores.map((s) => s.name)).toEqual(expect.arrayContaining(['store.session_get', 'store.getConnection']));
  for (const s of apiStores) expect(Object.keys(s.attributes).sort()).toEqual(['db.operation.name', 'db.system.name']);
  expect(spans.find((s) => s.name.startsWith('store.') && isUnder(spans, s, xt))).toBeDefined();

  // Every log line written inside a request carries its trace.
  const apiLine = h.logs
    .records()
    .find((r) => r.msg === 'request completed' && (r.req as { id?: string }).id === PROXY_ID);
  expect(apiLine).toMatchObject({ trace_id: TRACE, span_id: apiServer.spanId });
  expect(h.logs.records().find((r) => r.msg === 'connected')).toMatchObject({
    trace_id: callbackServer.traceId, // the callback came without a traceparent: a trace of its own
    span_id: callback.spanId,
  });

  // The secret scan, over every byte exported: the harness's secrets (tokens, codes, the client
  // and API secrets, signatures), the login's state and code, the owner, and the query's values.
  const text = receiver.bodies.join('\n');
  expect(owners.length).toBe(1);
  for (const s of [...h.secrets(), state, code, ...owners]) {
    if (s && text.includes(s)) throw new Error(`a secret reached a span: ${s.slice(0, 6)}…`);
  }
  expect(text).not.toMatch(/usdt|currencies|code=|state=|eyJ/);
});

test('a traceparent and an X-Request-Id from a client TRUST_PROXY does not believe start afresh', async () => {
  h = await tracedHarness('10.9.8.7'); // the test client is 127.0.0.1: not that proxy
  const res = await h.agent.get('/healthz').set('traceparent', TRACEPARENT).set('X-Request-Id', PROXY_ID);
  expect(res.status).toBe(200);
  expect(res.headers['x-request-id']).not.toBe(PROXY_ID);
  const login = await h.agent.get('/auth/xt/login').set('traceparent', TRACEPARENT);
  expect(login.status).toBe(302);
  const spans = await exported(h);
  const server = byName(spans, 'GET /auth/:provider/login');
  expect(server.traceId).not.toBe(TRACE);
  expect(server.parentSpanId).toBeUndefined();
  expect(spans.every((s) => s.traceId !== TRACE)).toBe(true);
});

test('a refresh is a span under the call that needed it, with the token call inside', async () => {
  h = await tracedHarness('false');
  const login = await h.agent.get('/auth/xt/login');
  expect((await h.agent.get(await authorizeAtStandIn(login.headers.location!))).status).toBe(303);
  h.xt.revokeAccessTokens(); // XT.COM answers 401: one refresh, one retry
  expect((await h.agent.get('/api/xt/spot/v4/balances')).status).toBe(200);
  const spans = await exported(h);
  const xt = byName(spans, 'XT.COM GET /spot/v4/balances');
  expect(xt.events.map((e) => e.name)).toContain('xt.retry');
  const refresh = byName(spans, 'connection.refresh');
  expect(refresh).toMatchObject({
    parentSpanId: xt.spanId,
    attributes: { 'xtc.provider': 'xt', 'xtc.refresh.forced': true },
  });
  expect(byName(spans, 'provider.token_refresh').parentSpanId).toBe(refresh.spanId);
  const text = receiver.bodies.join('\n');
  for (const s of h.secrets()) if (s && text.includes(s)) throw new Error(`a secret reached a span: ${s.slice(0, 6)}…`);
});

/** The fixture's list of the @opentelemetry packages a real process loaded, serving requests with `env`. */
async function loadedPackages(env: Record<string, string>): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test', 'fixtures', 'tracing', 'modules.ts')],
    { cwd: ROOT, env: { PATH: process.env.PATH, ...BASE_ENV, LOG_LEVEL: 'silent', XT_ENABLED: 'false', ...env } },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as string[];
}

test('with OTEL_EXPORTER_OTLP_ENDPOINT unset, no SDK module is loaded and nothing is sent', async () => {
  const off = await loadedPackages({});
  expect(off).toEqual(['@opentelemetry/api']); // the API alone: its no-op tracer
  expect(receiver.requests).toBe(0);
  // The control: the same process with the endpoint set loads the SDK and the exporter, and sends.
  const on = await loadedPackages({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  expect(on).toEqual(
    expect.arrayContaining(['@opentelemetry/sdk-trace-node', '@opentelemetry/exporter-trace-otlp-http']),
  );
  expect(receiver.spans.map((s) => s.name)).toContain('GET /healthz');
}, 60_000);

test('SIGTERM: the server sends the spans still in the batch before it exits', async () => {
  // The batch is sent every 5 s; the process stops well before that, so only the stop's flush sends it.
  const child = appChild(await freePort(), {
    ...BASE_ENV,
    XT_ENABLED: 'false',
    SHUTDOWN_DRAIN: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  });
  await child.start();
  expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
  expect(receiver.requests).toBe(0);
  await child.kill('SIGTERM');
  expect(receiver.spans.map((s) => s.name)).toContain('GET /healthz');
}, 30_000);

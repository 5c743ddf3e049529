/**
 * The typed XT.COM results of api/openapi.yaml (XtBalances, XtAsset, XtOrder, XtOrderPage,
 * XtTrade, XtTradePage, XtOrderPlaced, XtOrderCancelled) take what nobody here wrote: the example
 * answers of XT.COM's own documents and the answers ccxt recorded or quotes (test/fixtures/xt/, each
 * with its source). Every one is checked as the answer of its concrete path, under /v1 and under
 * /api, by the same checks the contract guard runs (ajv, JSON Schema 2020-12). The stand-in's own
 * answers are checked by the guard in test/integration/xt-typed-paths.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/app.js';
import { contractProblems, operationFor } from '../helpers/contract.js';

interface Fixture {
  endpoint: string;
  from: string;
  body: Record<string, unknown>;
}
const load = (name: string) =>
  (
    JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'xt', name), 'utf8')) as {
      responses: Fixture[];
    }
  ).responses.map((f) => [name, f.endpoint, f.from, f] as const);
const FIXTURES = [...load('xt-api-docs.json'), ...load('ccxt-xt.json')];

const answer = (body: unknown, status = 200) => ({
  status,
  headers: {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-request-id': '6f1c2a9e-53b4-4c0d-9a51-2f8e8f0c1d2b',
  },
  text: JSON.stringify(body),
});

/** `GET /spot/v4/order/{orderId}` → ['get', 'spot/v4/order/6216559590087220004']. */
function target(endpoint: string): [string, string] {
  const [method, xtPath] = endpoint.split(' ') as [string, string];
  return [method, xtPath.slice(1).replace('{orderId}', '6216559590087220004')];
}

test('the fixtures cover every typed path', () => {
  const typed = ['balances', 'balance', 'order', 'order/{orderId}', 'open-order', 'history-order', 'trade'];
  const covered = new Set(FIXTURES.map(([, endpoint]) => endpoint.split(' ')[1]!.replace('/spot/v4/', '')));
  expect([...covered].sort()).toEqual(typed.sort());
  expect(FIXTURES.length).toBeGreaterThanOrEqual(16);
});

test.each(FIXTURES)('%s: %s (%s) fits its typed path under /v1 and /api', (_file, endpoint, _from, f) => {
  const [method, xtPath] = target(endpoint);
  for (const url of [`/v1/subjects/42/xt/${xtPath}`, `/api/xt/${xtPath}`]) {
    const op = operationFor(method, url);
    expect(op.template).not.toMatch(/\{path\}$/); // a concrete path, not the generic one
    expect(contractProblems(answer(f.body), method, url)).toEqual([]);
  }
});

test('the schemas are not empty: a wrong type, a missing id or a bad side fails', () => {
  const problems = (method: string, xtPath: string, result: unknown) =>
    contractProblems(answer({ rc: 0, mc: 'SUCCESS', ma: [], result }), method, `/api/xt/${xtPath}`);
  expect(problems('GET', 'spot/v4/balances', { assets: {} })).not.toEqual([]);
  expect(problems('GET', 'spot/v4/balances', { assets: [{ currency: 'usdt', totalAmount: [] }] })).not.toEqual([]);
  expect(problems('GET', 'spot/v4/balance', { totalAmount: '1' })).not.toEqual([]); // no currency
  expect(problems('GET', 'spot/v4/order/1', { orderId: '1', side: 'buy' })).not.toEqual([]);
  expect(problems('GET', 'spot/v4/order/1', { orderId: '1', time: '17 May' })).not.toEqual([]);
  expect(problems('GET', 'spot/v4/open-order', { items: [] })).not.toEqual([]); // a list, not a page
  expect(problems('GET', 'spot/v4/history-order', [])).not.toEqual([]); // a page, not a list
  expect(problems('GET', 'spot/v4/trade', { items: [{ orderId: '1' }] })).not.toEqual([]); // no tradeId
  expect(problems('POST', 'spot/v4/order', {})).not.toEqual([]);
  expect(problems('DELETE', 'spot/v4/order/1', { orderId: '1' })).not.toEqual([]); // cancelId
  // The same refusal as everywhere: rc 1 with XT.COM's business code, whatever its result.
  const refusal = { rc: 1, mc: 'ORDER_NOT_FOUND', ma: [], result: null };
  expect(contractProblems(answer(refusal), 'GET', '/api/xt/spot/v4/order/1')).toEqual([]);
  expect(contractProblems(answer(refusal, 400), 'GET', '/v1/subjects/42/xt/spot/v4/order/1')).toEqual([]);
  const returnCode = { returnCode: 0, msgInfo: 'success', error: null, result: { orderId: '1' } };
  expect(contractProblems(answer(returnCode), 'POST', '/api/xt/spot/v4/order')).toEqual([]);
});

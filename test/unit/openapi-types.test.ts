/**
 * What a typed client generated from the contract gets (openapi-typescript, as packages/client
 * uses it): the typed XT.COM answers keep their `result` types and names (XtBalances, XtOrder, …),
 * and the success and the refusal are told apart by `rc` 0 or 1. A sibling keyword next to a `$ref`
 * is lost by generators, so these are written with allOf; this test notices if that slips.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { ROOT } from '../../src/app.js';

let types = '';
beforeAll(async () => {
  types = astToString(await openapiTS(pathToFileURL(path.join(ROOT, 'api', 'openapi.yaml'))));
}, 30_000);

/** The generated text of one component schema, up to the next one at the same depth. */
function component(name: string): string {
  const start = types.indexOf(`\n        ${name}: `);
  expect(start).toBeGreaterThan(0);
  const next = types.slice(start + 1).search(/\n {8}[A-Za-z]+\??: /);
  return types.slice(start, next < 0 ? undefined : start + 1 + next);
}

test.each([
  ['XtBalancesAnswer', 'result: components["schemas"]["XtBalances"]'],
  ['XtBalanceAnswer', 'result: components["schemas"]["XtAsset"]'],
  ['XtOrderAnswer', 'result: components["schemas"]["XtOrder"]'],
  ['XtOrderListAnswer', 'result: components["schemas"]["XtOrder"][]'],
  ['XtOrderPageAnswer', 'result: components["schemas"]["XtOrderPage"]'],
  ['XtTradePageAnswer', 'result: components["schemas"]["XtTradePage"]'],
  ['XtOrderPlacedAnswer', 'result: components["schemas"]["XtOrderPlaced"]'],
  ['XtOrderCancelledAnswer', 'result: components["schemas"]["XtOrderCancelled"]'],
])('%s has %s', (name, result) => {
  const text = component(name);
  expect(text).toContain(result);
  expect(text).toContain('components["schemas"]["XtRefusal"]');
});

test('success and refusal are told apart by rc (or returnCode) 0 and 1', () => {
  // As a number, or as the digit string that answers recorded from XT.COM's live API carry.
  expect(component('XtSuccess')).toMatch(/rc: 0 \| "0";[\s\S]*returnCode: 0 \| "0";/);
  expect(component('XtRefusal')).toMatch(/rc: 1 \| "1";[\s\S]*returnCode: 1 \| "1";/);
  expect(component('XtDecimal')).toContain('string | number');
});

test('the typed paths answer their typed schemas, under /v1 and /api', () => {
  for (const op of ['getXtBalances', 'getSubjectXtBalances']) {
    const start = types.indexOf(`\n    ${op}: {`);
    expect(start).toBeGreaterThan(0);
    expect(types.slice(start, start + 3000)).toContain('"2XX": components["responses"]["XtBalancesPassedOn"]');
  }
  const passedOn = types.indexOf('\n        XtBalancesPassedOn: {');
  expect(types.slice(passedOn, passedOn + 600)).toContain(
    '"application/json": components["schemas"]["XtBalancesAnswer"]',
  );
});

/**
 * XT.COM calls through the real app's gateway (/v1/subjects/{sub}/xt/…) against the stand-in:
 * reads, an order placed and cancelled, XT.COM's own refusal as `xt_refused`, and the allow-list.
 * Then the typing: a path the contract documents gets its operation's answer, any other `unknown`.
 */
import {
  type XtAnswer,
  type XtApiKeyAnswer,
  type XtConnect,
  XtConnectError,
  type XtResult,
  type XtResultIn,
  openApiKeySecret,
} from '../src/index.js';
import { recipientPair } from '../../../test/helpers/apiKeyRecipient.js';
import { type RunningApp, openLink, startApp } from './app.js';

const ALLOW = [
  'GET /spot/v4/balances',
  'GET /spot/v4/order/*',
  'POST /spot/v4/order',
  'DELETE /spot/v4/order/*',
  'POST /user/account/api-key',
].join(',');

const RECIPIENT = recipientPair('EC');
let app: RunningApp;
let xc: XtConnect;
beforeEach(async () => {
  app = await startApp({
    SERVICE_XT_API_ALLOW: ALLOW,
    SERVICE_ALLOW_API_KEY_CREATION: 'true',
    SERVICE_API_KEY_RECIPIENT: RECIPIENT.env,
  });
  xc = app.client();
  expect((await openLink(await xc.mintLinkUrl({ sub: '42' }))).status).toBe(303);
});
afterEach(() => app.close());

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as XtConnectError,
  );

interface Envelope<R> {
  rc: number;
  mc: string;
  result: R;
}

test('xt.get: balances with a query, XT.COM’s JSON as it answered', async () => {
  const b = (await xc.xt.get('42', '/spot/v4/balances', { query: { currencies: 'usdt,btc' } })) as Envelope<{
    assets: { currency: string }[];
  }>;
  expect(b.rc).toBe(0);
  expect(b.result.assets.map((a) => a.currency).sort()).toEqual(['btc', 'usdt']);
});

test('xt.post places an order, xt.get reads it, xt.delete cancels it; a second cancel is xt_refused', async () => {
  const body = { symbol: 'btc_usdt', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '100', quantity: '1' };
  const placed = (await xc.xt.post('42', '/spot/v4/order', { body })) as Envelope<{ orderId: string }>;
  expect(placed.rc).toBe(0);
  const id = placed.result.orderId;
  const order = (await xc.xt.get('42', `/spot/v4/order/${id}`)) as Envelope<{ symbol: string }>;
  expect(order.result.symbol).toBe('btc_usdt');
  const cancelled = (await xc.xt.delete('42', `/spot/v4/order/${id}`)) as Envelope<{ cancelId: string }>;
  expect(cancelled.result.cancelId).toBe(id);

  const again = await failure(xc.xt.delete('42', `/spot/v4/order/999999`));
  expect(again).toBeInstanceOf(XtConnectError);
  expect(again).toMatchObject({ code: 'xt_refused', status: 400, body: { rc: 1, mc: 'ORDER_NOT_FOUND' } });
  expect(again.requestId).toMatch(/^[0-9a-f-]{36}$/);
});

test('a path off the allow-list is 403 not_allowed (ours, not XT.COM’s); a bad path is refused before sending', async () => {
  expect(await failure(xc.xt.get('42', '/spot/v4/trade'))).toMatchObject({ code: 'not_allowed', status: 403 });
  await expect(xc.xt.get('42', 'spot/v4/balances')).rejects.toThrow(TypeError);
  await expect(xc.xt.get('42', '/spot/v4/balances?currencies=usdt')).rejects.toThrow(TypeError);
});

test('the contract’s documented path is typed: POST /user/account/api-key answers XtApiKeyAnswer (sealed)', async () => {
  const answer: XtApiKeyAnswer = await xc.xt.post('42', '/user/account/api-key');
  expect('rc' in answer && answer.rc).toBe(0);
  const result = (answer as { result: { secretKey: string } }).result;
  expect(await openApiKeySecret(result.secretKey, RECIPIENT.privateKey)).toMatch(/^[0-9a-f]{48}$/);
});

// ---- the typing, checked by the compiler (tsc --noEmit covers packages/*/test) ----

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const holds = <T extends true>(): T | undefined => undefined;

/** The shape the contract will have once concrete XT.COM paths are added: the mapping must pick them up. */
interface Balances {
  rc: 0;
  result: { assets: { currency: string }[] };
}
interface FuturePaths {
  '/v1/subjects/{sub}/xt/{path}': { get: { responses: { '2XX': { content: { 'application/json': XtAnswer } } } } };
  '/v1/subjects/{sub}/xt/spot/v4/balances': {
    get: { responses: { 200: { content: { 'application/json': Balances } } } };
    post?: never;
  };
  '/v1/subjects/{sub}/xt/spot/v4/order/{orderId}': {
    delete: { responses: { 200: { content: { 'application/json': { rc: 0; result: { cancelId: string } } } } } };
  };
}

test('types: documented paths get their answer, others unknown', () => {
  holds<Equals<XtResult<'post', '/user/account/api-key'>, XtApiKeyAnswer>>();
  holds<Equals<XtResult<'get', '/spot/v4/not-in-the-contract'>, unknown>>();
  holds<Equals<XtResult<'get', string>, unknown>>();
  holds<Equals<XtResultIn<FuturePaths, 'get', '/spot/v4/balances'>, Balances>>();
  holds<Equals<XtResultIn<FuturePaths, 'post', '/spot/v4/balances'>, unknown>>();
  holds<Equals<XtResultIn<FuturePaths, 'delete', '/spot/v4/order/123'>['result']['cancelId'], string>>();
  holds<Equals<XtResultIn<FuturePaths, 'get', '/spot/v4/trade'>, unknown>>(); // the catch-all types nothing
  // @ts-expect-error: the answer of a path the contract does not document is unknown, not any
  holds<Equals<XtResult<'get', '/spot/v4/nothing'>, { rc: number }>>();
  expect(true).toBe(true);
});

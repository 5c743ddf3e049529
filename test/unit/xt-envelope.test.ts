/**
 * XT.COM's two envelopes, `{rc, mc, ma, result}` and `{returnCode, msgInfo, error, result}`, are
 * one envelope to every reader: for any code and HTTP status, the user API's classification and the
 * token endpoint's outcome are the same whichever shape XT.COM answered in.
 */
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import type { XtConfig } from '../../src/config/index.js';
import type { ProviderHttp, RawResponse } from '../../src/providers/xt/http.js';
import { XtProvider } from '../../src/providers/xt/provider.js';
import { readXtEnvelope } from '../../src/providers/xt/envelope.js';
import { classify } from '../../src/providers/xt/answer.js';

const rcShape = (rc: number, mc: string) => JSON.stringify({ rc, mc, ma: [], result: null });
const returnCodeShape = (rc: number, mc: string) =>
  JSON.stringify({
    returnCode: rc,
    msgInfo: rc === 0 ? 'success' : 'failure',
    error: rc === 0 ? null : { code: mc, msg: 'x' },
    result: null,
  });
const answer = (status: number, body: string): RawResponse => ({ status, contentType: 'application/json', body });

const code = fc.oneof(
  fc.integer({ min: 0, max: 299 }).map((n) => `AUTH_${String(n).padStart(3, '0')}`),
  fc.constantFrom('FAILURE', 'ORDER_NOT_FOUND', 'TOKEN_INVALID', 'SYMBOL_NOT_FOUND', 'lower-case', ''),
);
const rc = fc.constantFrom(1, 2); // a refusal, and an rc nobody documents
const status = fc.constantFrom(200, 400, 401, 403, 404, 302);

/** What an outcome (or the error it throws) says, without the body that naturally differs. */
function outcomeOf(f: () => unknown): unknown {
  try {
    const o = f() as { kind: string; mc?: string };
    return { kind: o.kind, mc: o.mc };
  } catch (err) {
    return { error: (err as AppError).code, mc: (err as AppError).detail.mc, reason: (err as AppError).detail.reason };
  }
}

test('the user API classifies both shapes the same, for any code and status', () => {
  fc.assert(
    fc.property(rc, code, status, (r, mc, s) => {
      const a = outcomeOf(() => classify(answer(s, rcShape(r, mc)), '/spot/v4/balances', 0));
      const b = outcomeOf(() => classify(answer(s, returnCodeShape(r, mc)), '/spot/v4/balances', 0));
      expect(b).toEqual(a);
    }),
  );
});

test('returnCode 0 with a null error is a success, and error.code AUTH_105 asks for a new clock reading', () => {
  expect(readXtEnvelope(answer(200, returnCodeShape(0, '')), 'xt')).toEqual({ rc: 0, mc: 'SUCCESS', result: null });
  expect(classify(answer(200, returnCodeShape(1, 'AUTH_105')), '/spot/v4/balances', 0)).toEqual({
    kind: 'clock',
    mc: 'AUTH_105',
    httpStatus: 200,
  });
});

test('the token endpoint: error.code AUTH_1xx is provider_misconfigured, any other code is what an rc 1 answer with that mc is', async () => {
  let body = '';
  const http: ProviderHttp = { request: async () => answer(200, body), close() {} };
  const xt = new XtProvider({ tokenUrl: 'https://xt.test/token', clientId: 'c', clientSecret: 's' } as XtConfig, http);
  const refused = async (b: string) => {
    body = b;
    const err = await xt.refresh('r').then(
      () => undefined,
      (e: unknown) => e as AppError,
    );
    expect(err).toBeInstanceOf(AppError);
    return { code: err!.code, mc: err!.detail.mc };
  };
  await fc.assert(
    fc.asyncProperty(code, async (mc) => {
      const viaReturnCode = await refused(returnCodeShape(1, mc));
      expect(viaReturnCode).toEqual(await refused(rcShape(1, mc)));
      if (/^AUTH_1\d\d$/.test(mc)) expect(viaReturnCode.code).toBe('provider_misconfigured');
    }),
  );
});

test('a code written as a digit string (as recorded from the live API) reads as the number; anything else is no envelope', () => {
  const read = (body: unknown) => readXtEnvelope(answer(200, JSON.stringify(body)), 'xt');
  expect(read({ rc: '0', mc: 'SUCCESS', ma: [], result: { a: 1 } })).toEqual({
    rc: 0,
    mc: 'SUCCESS',
    result: { a: 1 },
  });
  expect(read({ returnCode: '1', error: { code: 'ORDER_NOT_FOUND' } })).toEqual({
    rc: 1,
    mc: 'ORDER_NOT_FOUND',
    result: undefined,
  });
  for (const rc of ['', 'zero', '0x1', '1e3', ' 0', '12345678901', null, true])
    expect(() => read({ rc, mc: 'SUCCESS' })).toThrow(
      expect.objectContaining({ code: 'provider_bad_response' }) as Error,
    );
  const kind = (rc: unknown) => {
    const o = classify(answer(400, JSON.stringify({ rc, mc: 'ORDER_NOT_FOUND' })), '/spot/v4/order', 0);
    return { kind: o.kind, mc: (o as { mc?: string }).mc };
  };
  expect(kind('1')).toEqual(kind(1)); // the same refusal, passed on as XT.COM wrote it
});

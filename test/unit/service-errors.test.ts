/**
 * /v1 errors are for programs: every code of the error table, raised under /v1 with the service API
 * on, answers its service status with the contract's ServiceError body (api/openapi.yaml): the code,
 * its summary as the message (never the person's language, never `next`), the request id, and
 * `retryAfter` exactly when the answer has Retry-After, `provider` when known, `scope` only for
 * scope_missing.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import type { AppContext } from '../../src/context.js';
import { AppError, ERRORS, type ErrorCode, serviceStatus } from '../../src/errors.js';
import { errorHandler } from '../../src/http/errorHandler.js';
import { Audit } from '../../src/shared/audit.js';
import { validatorFor } from '../helpers/contract.js';

const codes = Object.keys(ERRORS) as ErrorCode[];
const serviceError = validatorFor('ServiceError', { $ref: '#/components/schemas/ServiceError' });
let pageLocalsCalls = 0;

function serviceApp() {
  const app = express();
  app.use((req, _res, next) => {
    req.id = randomUUID();
    next();
  });
  app.get('/v1/fail/:code', (req) => {
    const code = req.params.code as ErrorCode;
    throw new AppError(
      code,
      code === 'scope_missing' ? { provider: 'xt', detail: { scope: 'xt.write' } } : { provider: 'xt' },
    );
  });
  app.get('/v1/plain', () => {
    throw new AppError('rate_limited', { detail: { scope: 'service' } }); // a rate limiter's scope, not a key's
  });
  const logger = pino({ level: 'silent' });
  const ctx = {
    config: { integration: { service: { keys: [] } } },
    logger,
    audit: new Audit(logger),
    providers: new Map([['xt', { label: 'XT.COM' }]]),
  } as unknown as AppContext;
  app.use(
    errorHandler(ctx, (_req, _res, next) => {
      pageLocalsCalls++;
      next();
    }),
  );
  return app;
}

const app = serviceApp();

test.each(codes)('%s under /v1: its service status and the ServiceError body, in technical English', async (code) => {
  const res = await request(app).get(`/v1/fail/${code}`).set('Accept-Language', 'zh-CN');
  expect(res.status).toBe(serviceStatus(code));
  expect(res.type).toBe('application/json');
  expect(res.headers['cache-control']).toBe('no-store');
  const body = res.body as { error: Record<string, unknown> };
  expect(serviceError(body) ? [] : serviceError.errors).toEqual([]);
  expect(body.error).toEqual({
    code,
    message: ERRORS[code].summary,
    requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
    provider: 'xt',
    ...(res.headers['retry-after'] !== undefined ? { retryAfter: Number(res.headers['retry-after']) } : {}),
    ...(code === 'scope_missing' ? { scope: 'xt.write' } : {}),
  });
  expect(res.headers['retry-after'] !== undefined).toBe(serviceStatus(code) === 429 || serviceStatus(code) === 503);
  expect(res.headers.vary ?? '').not.toMatch(/Accept-Language/);
});

test('no provider, no provider field; a scope that is not a missing key scope is not reported', async () => {
  const res = await request(app).get('/v1/plain');
  expect(res.status).toBe(429);
  expect((res.body as { error: Record<string, unknown> }).error).toEqual({
    code: 'rate_limited',
    message: ERRORS.rate_limited.summary,
    requestId: expect.any(String) as string,
    retryAfter: Number(res.headers['retry-after']),
  });
});

test("a /v1 error never needs the page locals (the person's language, the brand)", () => {
  expect(pageLocalsCalls).toBe(0);
});

test('every code has a summary: one short sentence of technical English', () => {
  for (const code of codes)
    expect([code, ERRORS[code].summary]).toEqual([code, expect.stringMatching(/^[A-Z].{9,119}\.$/)]);
  expect(new Set(codes.map((c) => ERRORS[c].summary)).size).toBe(codes.length);
});

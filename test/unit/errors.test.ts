/**
 * The error table, pinned: every code renders, in all eleven languages, with the status and the way
 * forward that the table gives it, as a page and as JSON under /api.
 */
import path from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import { pino } from 'pino';
import request from 'supertest';
import { ROOT } from '../../src/app.js';
import type { AppContext } from '../../src/context.js';
import { AppError, ERRORS, type ErrorCode, messageKey, toAppError } from '../../src/errors.js';
import { errorHandler } from '../../src/http/errorHandler.js';
import { LANGUAGES, type Locale, htmlLang, translator } from '../../src/i18n/index.js';
import { Audit } from '../../src/shared/audit.js';

const codes = Object.keys(ERRORS) as ErrorCode[];

function appFor(locale: Locale) {
  const app = express();
  nunjucks.configure(path.join(ROOT, 'views'), { autoescape: true, express: app });
  app.use((_req, res, next) => {
    res.locals.t = translator(locale);
    res.locals.htmlLang = htmlLang(locale);
    next();
  });
  const raise: express.RequestHandler = (req) => {
    throw new AppError(req.params.code as ErrorCode, { provider: 'xt' });
  };
  app.get('/page/:code', raise);
  app.get('/api/fail/:code', raise);
  const logger = pino({ level: 'silent' });
  const ctx = {
    logger,
    audit: new Audit(logger),
    providers: new Map([['xt', { label: 'XT.COM' }]]),
  } as unknown as AppContext;
  app.use(errorHandler(ctx, (_req, _res, next) => next()));
  return app;
}

const apps = new Map(LANGUAGES.map((l) => [l.locale, appFor(l.locale)]));
const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

describe.each(LANGUAGES.map((l) => l.locale))('every code in %s', (locale) => {
  test.each(codes)('%s', async (code) => {
    const spec = ERRORS[code];
    const message = translator(locale)(messageKey(code), { provider: 'XT.COM' });
    expect(message).not.toBe(messageKey(code)); // a real message, not the key
    // Its own language's words, not English's (XT.COM and API aside).
    const english = translator('en')(messageKey(code), { provider: 'XT.COM' });
    if (locale !== 'en') expect(message).not.toBe(english);

    const page = await request(apps.get(locale)!).get(`/page/${code}`);
    expect(page.status).toBe(spec.status);
    expect(page.text).toContain(`data-error="${code}"`);
    expect(page.text).toContain(`<html lang="${htmlLang(locale)}">`);
    expect(page.text).toMatch(
      /<main id="main"[^>]* data-state="(misconfigured|unavailable|reconnect-needed|declined|error)"/,
    );
    expect(page.text).toContain(escapeHtml(message));
    const primary = /<a class="button primary" href="([^"]+)">([^<]+)<\/a>/.exec(page.text);
    if (spec.next === 'home') expect(primary).toBeNull();
    else {
      expect(primary).not.toBeNull();
      const label = translator(locale)(spec.next === 'reconnect' ? 'error.reconnect' : 'error.retry');
      expect(primary![2]).toBe(label);
      if (spec.next === 'login' || spec.next === 'reconnect') expect(primary![1]).toBe('/auth/xt/login');
    }
    if (spec.status === 503 || spec.status === 429) expect(Number(page.headers['retry-after'])).toBeGreaterThan(0);
    else expect(page.headers['retry-after']).toBeUndefined();

    const api = await request(apps.get(locale)!).get(`/api/fail/${code}`);
    expect(api.status).toBe(spec.status);
    expect((api.body as { error: unknown }).error).toMatchObject({ code, next: spec.next, message, provider: 'xt' });
  });
});

test('errors thrown by Express and its parsers map onto the table', () => {
  expect(toAppError({ status: 413, type: 'entity.too.large' }).code).toBe('payload_too_large');
  expect(toAppError({ status: 414 }).code).toBe('uri_too_long');
  expect(toAppError({ statusCode: 404 }).code).toBe('not_found');
  expect(toAppError({ status: 400, type: 'entity.parse.failed' }).code).toBe('bad_request');
  expect(toAppError(new Error('boom')).code).toBe('internal');
  expect(toAppError(new Error('boom')).status).toBe(500);
});

test('a deferred refresh says when to come back', () => {
  expect(new AppError('provider_down', { detail: { retryAfterMs: 12_300 } }).retryAfterSec).toBe(13);
  expect(new AppError('provider_down').retryAfterSec).toBe(5);
  expect(new AppError('provider_unavailable').retryAfterSec).toBeUndefined();
});

/**
 * XT.COM's clock (src/providers/xt/clock.ts): the offset read from /v4/public/time at start,
 * every 10 minutes, and on demand; best effort when the time cannot be read.
 */
import { jest } from '@jest/globals';
import pino from 'pino';
import type { ProviderHttp, RawResponse } from '../../src/providers/xt/http.js';
import { CLOCK_RESYNC_MS, XtClock } from '../../src/providers/xt/clock.js';

const logger = pino({ level: 'silent' });
const timeAnswer = (serverTime: number): RawResponse => ({
  status: 200,
  contentType: 'application/json',
  body: JSON.stringify({ rc: 0, mc: 'SUCCESS', ma: [], result: { serverTime } }),
});

/** A fake XT.COM whose clock runs `skewMs` ahead of the host's; every request is recorded. */
function fakeXt(skewMs: number, host: () => number) {
  const urls: string[] = [];
  let answer: (() => RawResponse | Promise<RawResponse>) | undefined;
  const http: ProviderHttp = {
    async request(cfg) {
      urls.push(cfg.url);
      return answer ? answer() : timeAnswer(host() + skewMs);
    },
    close() {},
  };
  return { http, urls, answerWith: (f: typeof answer) => (answer = f) };
}

let clock: XtClock | undefined;
afterEach(() => {
  clock?.close();
  jest.useRealTimers();
});

test('the offset comes from GET {XT_API_URL}/v4/public/time at start', async () => {
  const xt = fakeXt(30_000, Date.now);
  clock = new XtClock({ apiUrl: 'https://sapi.example', http: xt.http, logger });
  expect(Math.abs(clock.now() - Date.now())).toBeLessThan(50); // nothing known yet: the host's clock
  clock.start();
  await clock.ready();
  expect(xt.urls).toEqual(['https://sapi.example/v4/public/time']);
  expect(Math.abs(clock.now() - (Date.now() + 30_000))).toBeLessThan(50);
});

test('the offset is read again every 10 minutes', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  let skew = -30_000;
  const xt = fakeXt(0, Date.now);
  xt.answerWith(() => timeAnswer(Date.now() + skew));
  clock = new XtClock({ apiUrl: 'https://sapi.example', http: xt.http, logger });
  clock.start();
  await clock.ready();
  expect(Math.round(clock.offset() / 1000)).toBe(-30);
  skew = 12_000;
  jest.advanceTimersByTime(CLOCK_RESYNC_MS - 1000);
  await Promise.resolve();
  expect(xt.urls).toHaveLength(1);
  jest.advanceTimersByTime(1000);
  expect(xt.urls).toHaveLength(2); // the timer's fetch, not one of ours
  await clock.sync(); // joins it
  expect(xt.urls).toHaveLength(2);
  expect(Math.round(clock.offset() / 1000)).toBe(12);
  expect(CLOCK_RESYNC_MS).toBe(600_000);
});

test('refused requests share one new reading; one signed before a newer reading needs none', async () => {
  const xt = fakeXt(5_000, Date.now);
  xt.answerWith(async () => {
    await new Promise((r) => setTimeout(r, 30));
    return timeAnswer(Date.now() + 5_000);
  });
  clock = new XtClock({ apiUrl: 'https://sapi.example', http: xt.http, logger });
  const signedUnder = clock.generation();
  await Promise.all([clock.syncAfter(signedUnder), clock.syncAfter(signedUnder), clock.sync()]);
  expect(xt.urls).toHaveLength(1);
  expect(clock.generation()).toBe(signedUnder + 1);
  await clock.syncAfter(signedUnder); // a reading was taken since that request was signed
  expect(xt.urls).toHaveLength(1);
  await clock.syncAfter(clock.generation()); // signed under the newest reading, and still refused: read again
  expect(xt.urls).toHaveLength(2);
});

test.each([
  ['an HTTP error', () => ({ status: 503, contentType: 'text/html', body: '<html>down</html>' })],
  ['not an envelope', () => ({ status: 200, contentType: 'application/json', body: '{"serverTime":1}' })],
  [
    'an rc 1 envelope',
    () => ({ status: 200, contentType: 'application/json', body: '{"rc":1,"mc":"FAILURE","ma":[],"result":null}' }),
  ],
  ['an implausible time', () => timeAnswer(Date.now() + 3 * 86_400_000)],
  ['a network failure', () => Promise.reject(new Error('ECONNREFUSED'))],
] as [string, () => RawResponse | Promise<RawResponse>][])(
  'best effort: %s keeps the last offset',
  async (_name, bad) => {
    const xt = fakeXt(7_000, Date.now);
    let hostShift = 0;
    clock = new XtClock({ apiUrl: 'https://sapi.example', http: xt.http, logger, now: () => Date.now() + hostShift });
    expect(await clock.sync()).toBe(true);
    const offset = clock.offset();
    xt.answerWith(bad);
    hostShift = 2000;
    expect(await clock.sync()).toBe(false);
    expect(xt.urls).toHaveLength(2);
    expect(clock.offset()).toBe(offset);
    expect(clock.now() - (Date.now() + hostShift)).toBeCloseTo(offset, -2);
  },
);

/**
 * The traces settings (OTEL_*): off unless the endpoint is set; the standard samplers; plain http
 * only on loopback outside development.
 */
import { loadConfig } from '../../src/config/index.js';
import { samplerOf } from '../../src/shared/tracingSdk.js';
import { BASE_ENV } from '../helpers/harness.js';

const env = { ...BASE_ENV, XT_ENABLED: 'false' };
const problems = (extra: Record<string, string>) => {
  try {
    loadConfig({ ...env, ...extra });
    return [];
  } catch (err) {
    return (err as { problems: string[] }).problems;
  }
};

test('unset endpoint: tracing is off, whatever the other OTEL_ variables say', () => {
  expect(loadConfig(env).telemetry).toBeUndefined();
  expect(loadConfig({ ...env, OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }).telemetry).toBeUndefined();
});

test('the endpoint gives the traces URL; the defaults are the standard ones', () => {
  expect(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).telemetry).toEqual({
    tracesUrl: 'http://127.0.0.1:4318/v1/traces',
    serviceName: 'xt-connect',
    sampler: 'parentbased_always_on',
    ratio: 1,
  });
  const t = loadConfig({
    ...env,
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/base',
    OTEL_SERVICE_NAME: 'connect-eu',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
  }).telemetry;
  expect(t).toMatchObject({
    tracesUrl: 'https://otel.example.com/base/v1/traces',
    serviceName: 'connect-eu',
    ratio: 0.25,
  });
});

test('refused: plain http off loopback outside development, credentials, a bad sampler or ratio', () => {
  expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel.internal:4318' })).toEqual([
    expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: must use https/),
  ]);
  expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel.internal:4318', NODE_ENV: 'development' })).toEqual([]);
  expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://u:p@otel.example.com' })).toHaveLength(1);
  expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4318' })).toHaveLength(1);
  expect(problems({ OTEL_TRACES_SAMPLER: 'sometimes' })).toEqual([expect.stringMatching(/^OTEL_TRACES_SAMPLER:/)]);
  expect(problems({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toEqual([expect.stringMatching(/^OTEL_TRACES_SAMPLER_ARG:/)]);
});

test('each standard sampler name gives its sampler', () => {
  const name = (sampler: string) => samplerOf({ sampler: sampler as never, ratio: 0.5 }).toString();
  expect(name('always_on')).toBe('AlwaysOnSampler');
  expect(name('always_off')).toBe('AlwaysOffSampler');
  expect(name('traceidratio')).toMatch(/TraceIdRatioBased\{0.5\}/);
  expect(name('parentbased_always_off')).toMatch(/ParentBased\{root=AlwaysOffSampler/);
  expect(name('parentbased_traceidratio')).toMatch(/ParentBased\{root=TraceIdRatioBased\{0.5\}/);
});

/**
 * The files under deploy/ cannot drift from the app: every metric the Grafana dashboard and the
 * Prometheus alerts use is one the app registers (src/shared/metrics.ts, plus prom-client's
 * process metrics), with labels it has; and the compose, nginx and Kubernetes files keep the
 * promises docs/operations.md makes about them (metrics never public, retries only for idempotent
 * requests, a grace period longer than the drain).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { Metrics } from '../../src/shared/metrics.js';
import { loadConfig, parseDuration } from '../../src/config/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

/** Every series name the app exposes, with the labels it may carry (histograms: _bucket with `le`, _sum, _count). */
function exposed(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of new Metrics().registry.getMetricsAsArray()) {
    const labels = new Set(((m as unknown as { labelNames?: string[] }).labelNames ?? []).concat(['job', 'instance']));
    if (String(m.type) === 'histogram') {
      out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
    } else out.set(m.name, labels);
  }
  return out;
}

const METRIC = /\b(?:xtc|process|nodejs)_[a-z0-9_]+\b/g;

/** Each metric name in a PromQL expression, and the label names its selectors use. */
function usedIn(expr: string): { name: string; labels: string[] }[] {
  const out: { name: string; labels: string[] }[] = [];
  for (const m of expr.matchAll(/\b((?:xtc|process|nodejs)_[a-z0-9_]+)\b(\{([^}]*)\})?/g)) {
    const labels = [...(m[3] ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!);
    out.push({ name: m[1]!, labels });
  }
  return out;
}

function expectKnown(exprs: string[], where: string): void {
  const series = exposed();
  const problems: string[] = [];
  for (const expr of exprs) {
    for (const { name, labels } of usedIn(expr)) {
      const allowed = series.get(name);
      if (!allowed) problems.push(`${where}: ${name} is not a metric the app exposes`);
      else for (const l of labels) if (!allowed.has(l)) problems.push(`${where}: ${name} has no label ${l}`);
    }
  }
  expect(problems).toEqual([]);
}

interface Panel {
  type: string;
  title?: string;
  targets?: { expr?: string }[];
}

describe('deploy/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(read('deploy/grafana-dashboard.json')) as { title: string; panels: Panel[] };
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));

  test('every panel has a title and a query, and every query uses only metrics and labels the app has', () => {
    expect(panels.length).toBeGreaterThan(10);
    for (const p of panels) {
      expect(p.title).toBeTruthy();
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.expr).toMatch(METRIC);
    }
    expectKnown(exprs, 'dashboard');
  });

  test('it shows logins, refreshes, providers, XT.COM calls, rate limits, the store, sessions, webhooks and the processes', () => {
    const names = new Set(exprs.flatMap((e) => usedIn(e).map((u) => u.name)));
    for (const n of [
      'xtc_logins_total',
      'xtc_refreshes_total',
      'xtc_provider_request_duration_seconds_bucket',
      'xtc_xt_api_requests_total',
      'xtc_rate_limited_total',
      'xtc_store_operation_duration_seconds_bucket',
      'xtc_store_errors_total',
      'xtc_sessions_connected',
      'xtc_webhook_outbox_pending',
      'xtc_webhook_outbox_oldest_age_seconds',
      'xtc_webhook_deliveries_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect([...names]).toContain(n);
    }
    expect(exprs.some((e) => e.includes('outcome="rejected"'))).toBe(true); // the refresh rejection rate
  });
});

describe('deploy/prometheus-alerts.yml', () => {
  const text = read('deploy/prometheus-alerts.yml');
  // No YAML parser among the dependencies: the rules are split on `- alert:` and read line by line.
  const rules = text
    .split(/^\s*- alert:\s*/m)
    .slice(1)
    .map((chunk) => ({ name: chunk.split('\n')[0]!.trim(), body: chunk }));

  test('every rule has an expression, a severity and a summary, using only metrics and labels the app has', () => {
    expect(text).toMatch(/^groups:\n {2}- name: xt-connect\n {4}rules:\n/m);
    expect(text).not.toMatch(/\t/);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const r of rules) {
      expect(r.name).toMatch(/^Xtc[A-Za-z0-9]+$/);
      expect(r.body).toMatch(/\n\s+expr: /);
      expect(r.body).toMatch(/\n\s+labels:\n\s+severity: (warning|critical)\n/);
      expect(r.body).toMatch(/\n\s+annotations:\n\s+summary: /);
    }
    // `up` is Prometheus's own series for a scrape target; everything else must be the app's.
    const exprs = rules.map((r) => r.body.replace(/^\s*#.*$/gm, ''));
    expectKnown(exprs, 'alerts');
  });

  test('it alerts on refresh rejections, provider latency, the store, the webhook backlog and AUTH_1xx', () => {
    const byName = (re: RegExp) => rules.filter((r) => re.test(r.body)).map((r) => r.name);
    expect(byName(/xtc_refreshes_total\{[^}]*outcome="rejected"/)).not.toEqual([]);
    expect(byName(/histogram_quantile\(0\.99,[\s\S]*xtc_provider_request_duration_seconds_bucket/)).not.toEqual([]);
    expect(byName(/xtc_store_errors_total/)).not.toEqual([]);
    expect(byName(/xtc_webhook_outbox_oldest_age_seconds/)).not.toEqual([]);
    expect(byName(/outcome="misconfigured"/).filter((n) => byName(/mc=~"AUTH_1\.\."/).includes(n))).not.toEqual([]);
  });
});

describe('compose, nginx and Kubernetes', () => {
  const compose = read('docker-compose.yml');
  const nginxFiles = [
    'deploy/nginx.conf',
    'deploy/nginx.upstreams.conf',
    'deploy/nginx.listen.conf',
    'deploy/nginx.standins.conf',
  ].map(read);
  const k8s = read('deploy/kubernetes.yaml');

  test('metrics listen on 9091 and are never published or proxied', () => {
    expect(compose).toMatch(/METRICS_PORT: ['"]9091['"]/);
    // METRICS_HOST defaults to loopback: the replicas must listen on the network for the scraper.
    expect(compose).toMatch(/METRICS_HOST: ['"]?0\.0\.0\.0['"]?\n/);
    expect(k8s).toMatch(/name: METRICS_HOST\n\s+value: ['"]?0\.0\.0\.0['"]?\n/);
    expect(compose).not.toMatch(/["\s-]9091:/);
    const uncommented = (conf: string) => conf.replace(/#.*$/gm, '');
    for (const conf of nginxFiles) expect(uncommented(conf)).not.toContain('9091');
    expect(k8s).toMatch(/name: METRICS_PORT\n\s+value: ['"]9091['"]/);
    // The Service carries the public port only.
    const service = k8s.split(/^---$/m).find((d) => /^kind: Service$/m.test(d))!;
    expect(service).not.toMatch(/9091|metrics/);
  });

  test('nginx passes a request on to the other replica only when that is safe', () => {
    const conf = nginxFiles[0]!;
    expect(conf).toMatch(/^\s*proxy_next_upstream error timeout http_502 http_503;$/m);
    expect(conf).not.toMatch(/^\s*proxy_next_upstream\b.*non_idempotent/m);
    for (const h of ['X-Forwarded-For $proxy_add_x_forwarded_for', 'X-Forwarded-Proto $scheme', 'Host $host'])
      expect(conf).toContain(`proxy_set_header ${h};`);
    expect(conf).toMatch(/add_header Strict-Transport-Security "max-age=\d+" always;/);
    expect(compose).toMatch(/TRUST_PROXY: ['"]1['"]/);
  });

  test("compose's replicas take every setting of .env, with deploy/demo.env's demo values as defaults only", () => {
    // env_file: demo.env first, then .env (optional), so .env wins; `environment:` holds only what the topology fixes.
    expect(compose).toMatch(/env_file:\n\s+- path: deploy\/demo\.env\n\s+- path: \.env\n\s+required: false\n/);
    const block = /\n {2}environment:\n((?: {4}.*\n)+)/.exec(compose)![1]!;
    const fixed = Object.fromEntries(
      [...block.matchAll(/^ {4}([A-Z][A-Z0-9_]+): (.*)$/gm)].map((m) => [
        m[1]!,
        m[2]!.replace(/^'(.*)'$/, '$1').replace(/^\$\{\w+:[-?](.*)\}$/, '$1'),
      ]),
    );
    expect(Object.keys(fixed).sort()).toEqual(
      [
        'HOST',
        'METRICS_HOST',
        'METRICS_PORT',
        'NODE_ENV',
        'NODE_EXTRA_CA_CERTS',
        'PORT',
        'PUBLIC_URL',
        'REDIS_URL',
        'SESSION_SECRET',
        'SESSION_STORE',
        'SHUTDOWN_DRAIN',
        'TRUST_PROXY',
      ].sort(),
    );
    const demo = parseEnv(read('deploy/demo.env')) as Record<string, string>;
    // Nothing is a literal the .env cannot override, and the demo values with the fixed ones make a valid production config.
    for (const key of Object.keys(demo)) expect(fixed[key] === undefined || key === 'PUBLIC_URL').toBe(true);
    const config = loadConfig({ ...demo, ...fixed, SESSION_SECRET: 'a-real-session-secret-0123456789abcdefghijkl' });
    expect(config.server.env).toBe('production');
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.xt?.registerUrl).toContain('https://xt.localhost:9443/');
    expect(config.oidc).toBeDefined();
  });

  test("Kubernetes's grace period covers preStop, the drain and the 20 s for requests in flight", () => {
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(k8s)?.[1]);
    const drain = parseDuration(/name: SHUTDOWN_DRAIN\n\s+value: (\S+)/.exec(k8s)?.[1] ?? '') / 1000;
    const preStop = Number(/command: \[['"]sleep['"], ['"](\d+)['"]\]/.exec(k8s)?.[1]);
    expect(grace).toBeGreaterThan(preStop + drain + 20);
    expect(k8s).toMatch(/readinessProbe:\n\s+(#.*\n\s+)?httpGet:\n\s+path: \/readyz/);
    expect(k8s).toMatch(/livenessProbe:\n\s+(#.*\n\s+)?httpGet:\n\s+path: \/healthz/);
    // The compose file's stop grace period likewise.
    const composeGrace = parseDuration(/stop_grace_period: (\S+)/.exec(compose)?.[1] ?? '') / 1000;
    const composeDrain = parseDuration(/SHUTDOWN_DRAIN: (\S+)/.exec(compose)?.[1] ?? '') / 1000;
    expect(composeGrace).toBeGreaterThan(composeDrain + 20);
  });
});

describe('Dockerfile', () => {
  test("the volume /data is the node user's alone (0700), as a DATA_DIR the app creates itself", () => {
    expect(read('Dockerfile')).toMatch(/^RUN mkdir -p \/data && chown node:node \/data && chmod 700 \/data$/m);
  });

  test("the image caps V8's old generation (NODE_OPTIONS in its ENV), and the benchmarks and the topology run read the same value", async () => {
    const { IMAGE_NODE_OPTIONS } = await import('../helpers/image.js');
    expect(IMAGE_NODE_OPTIONS).toMatch(/^--max-old-space-size=\d+$/);
    const mb = Number(IMAGE_NODE_OPTIONS.split('=')[1]);
    // Room for the bounded live heap (~30 MB at any number of sessions) many times over, and under the Kubernetes example's 512 MiB limit.
    expect(mb).toBeGreaterThanOrEqual(192);
    expect(mb).toBeLessThan(512);
  });
});

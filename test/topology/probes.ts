/**
 * The topology run's direct probes (no browser, no load): every replica's bundle loads its lazy
 * chunks, and behind nginx (TRUST_PROXY=1) the audit log and the /auth rate limit see the client's
 * own address.
 */
import { AUTH_RATE_LIMIT, check } from './common.js';
import { fetchRaw, headerOf } from './http.js';
import { logLines, servedBy } from './observe.js';
import type { Topology } from './topology.js';

/** 0. The bundle's chunks: code loaded on first use (the OIDC dialect, jose for links, the Redis stores), on each replica directly. */
export async function checkBundle({ replicas, oidc }: Topology): Promise<void> {
  for (const r of replicas) {
    const direct = `http://127.0.0.1:${r.port}`;
    const oidcLogin = await fetchRaw(`${direct}/auth/oidc/login`, { localAddress: '127.0.0.5' });
    check(
      oidcLogin.status === 302 && headerOf(oidcLogin, 'location').startsWith(`${oidc}/`),
      `replica ${r.name} (the bundle, Redis): an OIDC login goes to the stand-in (${oidcLogin.status})`,
    );
    const badLink = await fetchRaw(`${direct}/auth/xt/login?link=not-a-jwt`, { localAddress: '127.0.0.5' });
    check(
      badLink.status === 400 && /link/i.test(badLink.body),
      `replica ${r.name}: a malformed link token gets the link page (${badLink.status}), jose loaded`,
    );
  }
}

/** The audit line of `event` for request `reqId`, in whichever replica's log it is. */
const findAudit = ({ replicas }: Topology, reqId: string, event: string) =>
  replicas.flatMap((r) =>
    logLines(r.proc.out, (o) => o.audit === true && o.event === event && o.reqId === reqId),
  )[0] as { ip?: string } | undefined;

/** 2. TRUST_PROXY: the client's address, per client. What was seen, for the report. */
export async function checkTrustProxy(t: Topology): Promise<Record<string, string>> {
  const trustFacts: Record<string, string> = {};
  const probe = await fetchRaw(`${t.base}/auth/xt/login`, {
    localAddress: '127.0.0.2',
    headers: { 'x-forwarded-for': '203.0.113.7' },
  });
  const probeId = headerOf(probe, 'x-request-id');
  await servedBy(t.replicas, probeId);
  const started = findAudit(t, probeId, 'login_started');
  check(
    probe.status === 302 && started?.ip === '127.0.0.2',
    `TRUST_PROXY=1: a login from 127.0.0.2 that forged X-Forwarded-For: 203.0.113.7 is audited with ip ${started?.ip}`,
  );
  trustFacts.audit = `login from 127.0.0.2 with a forged X-Forwarded-For: 203.0.113.7 → audit ip ${started?.ip}`;
  trustFacts.rateLimit = await checkRateLimit(t);
  return trustFacts;
}

/** One client goes past AUTH_RATE_LIMIT (forging a new X-Forwarded-For each time, which must not help); another is not affected. */
async function checkRateLimit(t: Topology): Promise<string> {
  const statuses: number[] = [];
  let lastId = '';
  for (let i = 1; i <= AUTH_RATE_LIMIT + 1; i++) {
    const r = await fetchRaw(`${t.base}/auth/xt/login`, {
      localAddress: '127.0.0.3',
      headers: { 'x-forwarded-for': `198.51.100.${i}` },
    });
    statuses.push(r.status);
    lastId = headerOf(r, 'x-request-id');
  }
  const neighbour = await fetchRaw(`${t.base}/auth/xt/login`, { localAddress: '127.0.0.4' });
  await servedBy(t.replicas, lastId);
  const limited = findAudit(t, lastId, 'rate_limited');
  const under = statuses.slice(0, AUTH_RATE_LIMIT);
  check(
    under.every((s) => s === 302) &&
      statuses[AUTH_RATE_LIMIT] === 429 &&
      limited?.ip === '127.0.0.3' &&
      neighbour.status === 302,
    `rate limit per client: 127.0.0.3 got ${AUTH_RATE_LIMIT} × 302 then ${statuses[AUTH_RATE_LIMIT]} (audit rate_limited, ip ${limited?.ip}); 127.0.0.4 right after got ${neighbour.status}`,
  );
  return `127.0.0.3: ${AUTH_RATE_LIMIT} × 302, then ${statuses[AUTH_RATE_LIMIT]} (audit ip ${limited?.ip}); 127.0.0.4 at the same moment: ${neighbour.status}`;
}

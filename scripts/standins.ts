/**
 * The demo's two stand-ins without the app: `tsx scripts/standins.ts`. docker-compose.yml runs it
 * as the `standins` service (deploy/standins.Dockerfile) and `npm run topology` as a process:
 *  - XT.COM on XT_STANDIN_PORT (4000);
 *  - Tencent Cloud CIAM (standard OpenID Connect) on OIDC_STANDIN_PORT (4001).
 * Settings, all optional:
 *   STANDINS_HOST          where both listen (127.0.0.1; 0.0.0.0 in a container)
 *   PUBLIC_URL             the app's origin: the CIAM stand-in accepts its callback and logout return
 *   OIDC_STANDIN_ISSUER    the CIAM issuer when a TLS proxy is in front (compose: https://ciam.localhost:9443)
 *   STANDIN_ACCESS_TTL     access-token lifetime in seconds at both (120)
 *   STANDIN_XT_IP_LIMIT    XT.COM's user-API calls per minute per client IP (XT.COM's 1000)
 *   STANDINS_CONTROL_PORT  a loopback-only JSON listener for tests: GET /stats (unset: none)
 * Prints `standins ready {…}` once both listen; stops on SIGTERM or SIGINT.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { OIDC_CLIENTS, startOidcStandIn } from '../standins/oidc.js';
import { startXtStandIn } from '../standins/xt.js';

const env = process.env;
const host = env.STANDINS_HOST ?? '127.0.0.1';
const xtPort = Number(env.XT_STANDIN_PORT ?? 4000);
const oidcPort = Number(env.OIDC_STANDIN_PORT ?? 4001);
const publicUrl = new URL(env.PUBLIC_URL ?? 'http://localhost:3000');
const accessTtlSec = Number(env.STANDIN_ACCESS_TTL ?? 120);
const ipLimitPerMin = Number(env.STANDIN_XT_IP_LIMIT ?? 1000);

function fail(what: string) {
  return (err: Error): never => {
    process.stderr.write(`standins: ${what} could not start: ${err.message}\n`);
    process.exit(1);
  };
}

const xt = await startXtStandIn({
  host,
  port: xtPort,
  accessTtlSec,
  refreshTtlSec: 7 * 86_400,
  rotateRefreshTokens: true,
  ipLimitPerMin,
}).catch(fail('the XT.COM stand-in'));
const ciam = await startOidcStandIn({
  host,
  port: oidcPort,
  issuer: env.OIDC_STANDIN_ISSUER || undefined,
  accessTtlSec,
  redirectUris: [new URL('/auth/oidc/callback', publicUrl).toString()],
  postLogoutRedirectUris: [new URL('/', publicUrl).toString()],
}).catch(fail('the CIAM stand-in'));

/** The `user-id` claim of an XT.COM stand-in token (a JWT), or `?`. */
function userOf(token: string): string {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      'user-id'?: number | string;
    };
    return claims['user-id'] === undefined ? '?' : String(claims['user-id']);
  } catch {
    return '?';
  }
}

/**
 * How often each refresh token was presented (a token used twice means two requests or replicas
 * both refreshed), and how many refreshes each user had. Tokens are counted, never shown.
 */
function reuse(tokens: string[]): {
  presented: number;
  distinct: number;
  reused: number;
  byUser: Record<string, number>;
} {
  const seen = new Map<string, number>();
  const byUser: Record<string, number> = {};
  for (const t of tokens) {
    const key = createHash('sha256').update(t).digest('hex');
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const user = userOf(t);
    byUser[user] = (byUser[user] ?? 0) + 1;
  }
  return {
    presented: tokens.length,
    distinct: seen.size,
    reused: [...seen.values()].filter((n) => n > 1).length,
    byUser,
  };
}

let control: http.Server | undefined;
if (env.STANDINS_CONTROL_PORT) {
  control = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/stats') {
      res.writeHead(404).end();
      return;
    }
    const body = {
      xt: { calls: { ...xt.calls }, refreshTokens: reuse(xt.refreshTokensPresented) },
      oidc: { calls: { ...ciam.calls }, refreshTokens: reuse(ciam.refreshTokensPresented) },
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve, reject) => {
    control!.once('error', reject);
    control!.listen(Number(env.STANDINS_CONTROL_PORT), '127.0.0.1', resolve);
  }).catch(fail('the control listener'));
}

process.stdout.write(
  `standins ready ${JSON.stringify({ xt: `http://${host}:${xt.port}`, xtClient: xt.options.clientId, oidc: ciam.issuer, oidcClient: OIDC_CLIENTS.basic.clientId, accessTtlSec })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) process.exit(1);
  stopping = true;
  control?.closeAllConnections();
  control?.close();
  await Promise.all([xt.close(), ciam.close()]);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

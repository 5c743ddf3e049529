/**
 * The demo's configuration (`npm run demo`): the app pointed at the bundled stand-ins, with zero
 * configuration. Only PORT, HOST, PUBLIC_URL, DATA_DIR (where the SQLite store goes, ./data by
 * default) and the integration settings (LINK_*, SERVICE_*, WEBHOOK_*, EMBED_*) are taken from the
 * environment; everything else is fixed here.
 */
import type { Env } from '../src/config/index.js';
import { OIDC_CLIENTS } from '../standins/oidc.js';

/** The integration settings the demo passes on when they are set. */
const INTEGRATION = /^(LINK|SERVICE|WEBHOOK|EMBED)_[A-Z_]+$/;

export function demoEnv(o: { xtUrl: string; ciamIssuer: string; publicOrigin: string; env: NodeJS.ProcessEnv }): Env {
  const client = OIDC_CLIENTS.basic;
  const integration = Object.fromEntries(Object.entries(o.env).filter(([k]) => INTEGRATION.test(k)));
  return {
    ...integration,
    PORT: o.env.PORT,
    DATA_DIR: o.env.DATA_DIR,
    // The demo's secrets are public: it listens on loopback only unless HOST says otherwise.
    HOST: o.env.HOST ?? '127.0.0.1',
    PUBLIC_URL: o.env.PUBLIC_URL ?? o.publicOrigin, // unset: localhost on PORT, as the CIAM stand-in was told
    XT_CONNECT_MODE: 'demo',
    // Set, not left to PUBLIC_URL: unset NODE_ENV with an https PUBLIC_URL would mean production,
    // which refuses the demo's built-in secrets.
    NODE_ENV: 'development',
    // The institution's brand, as a real deployment sets it (SITE_*, SUPPORT_URL).
    SITE_NAME: 'Example Exchange Partner',
    SUPPORT_URL: 'mailto:support@example.com',
    XT_AUTHORIZE_URL: `${o.xtUrl}/{lang}/accounts/oauth2`,
    // "No XT.COM account? Create one" stays in the sandbox: the stand-in's registration page.
    XT_REGISTER_URL: `${o.xtUrl}/{lang}/accounts/register?client_id={client_id}`,
    XT_TOKEN_URL: `${o.xtUrl}/public/uaa/oauth2/token`,
    XT_API_URL: o.xtUrl,
    OIDC_ISSUER: o.ciamIssuer,
    OIDC_CLIENT_ID: client.clientId,
    OIDC_CLIENT_SECRET: client.clientSecret,
    OIDC_LABEL: 'Tencent Cloud CIAM (stand-in)',
    OIDC_LOGOUT_URL: `${o.ciamIssuer}/logout`,
  };
}

// The peer: express-openid-connect, logged in for real against the oidc-provider stand-in
// (bench/servers/oidc-standin.ts), with a `requiresAuth()` JSON route.
// `node bench/servers/express-openid-connect.mjs <port> <issuer> <clientId> <clientSecret>`.
import express from 'express';
import eoc from 'express-openid-connect';

const { auth, requiresAuth } = eoc;

const [port, issuer, clientID, clientSecret] = process.argv.slice(2);
const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
app.use(
  auth({
    issuerBaseURL: issuer,
    baseURL: `http://127.0.0.1:${port}`,
    clientID,
    clientSecret,
    secret: 'bench-eoc-session-secret-0123456789abcdef',
    authRequired: false,
    authorizationParams: { response_type: 'code', scope: 'openid' },
    idpLogout: false,
  }),
);
app.get(
  '/api/session',
  requiresAuth(),
  (req, res) => void res.json({ connected: true, provider: 'oidc', userId: req.oidc.user?.sub ?? null }),
);
const server = app.listen(Number(port), '127.0.0.1', () => process.stdout.write(`READY http://127.0.0.1:${port}\n`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));

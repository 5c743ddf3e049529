/**
 * The XT.COM stand-in's token endpoint as its own process, for the keeper benchmark, knowing the
 * refresh tokens the seeding stored for the due connections (seed.ts dueRefreshToken):
 * `tsx bench/keeper/xt.ts <tag> <due>`. Prints `READY <url>`; stops on SIGTERM.
 *
 * It is the stand-in's own state and token endpoint (standins/xt), with the options it fills in
 * by default; only the refresh tokens it would have issued at login are put in its table first.
 * A refresh answers a new access and refresh token (RS256 JWTs), the refresh token living 180 days.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { startXtStandIn } from '../../standins/xt.js';
import { XtState } from '../../standins/xt/state.js';
import { tokenEndpoint } from '../../standins/xt/tokenEndpoint.js';
import { processSigningKey } from '../../standins/xt/tokens.js';
import { envelopeShape } from '../../standins/xtUser.js';
import { dueRefreshToken, userIdOf } from './seed.js';

const [tag = 'x', dueArg = '0'] = process.argv.slice(2);
const CLIENT_SECRET = process.env.XT_CLIENT_SECRET ?? 'bench-keeper-client-secret';

// The stand-in's options with its defaults filled in (startXtStandIn's), then its state of our own.
const defaults = await startXtStandIn({ clientSecret: CLIENT_SECRET, refreshTtlSec: 180 * 86_400 });
await defaults.close();
const state = new XtState(defaults.options, await processSigningKey());
const expiresAt = Date.now() + 30 * 86_400_000;
for (let i = 0; i < Number(dueArg); i++)
  state.refreshTokens.set(dueRefreshToken(tag, i), { userId: userIdOf(i), scope: 'userinfo', expiresAt });

const app = express();
app.disable('x-powered-by');
app.use(envelopeShape(defaults.options));
app.get('/public/uaa/oauth2/token', tokenEndpoint(state));
app.get('/calls', (_req, res) => {
  res.json({ refresh_token: state.calls.refresh_token });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));

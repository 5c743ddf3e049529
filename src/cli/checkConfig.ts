/**
 * `xt-connect check-config`: loads the configuration exactly as the server does at start and says
 * whether it would start (as oauth2-proxy's --config-test does). Nothing is opened: no store, no
 * provider, no network. It prints no secret: the summary names what is set, never a value that is
 * a key, a secret or a password.
 */
import type { Config } from '../config/index.js';
import { type Command, EXIT_OK } from './command.js';
import { configFor } from './runtime.js';

/** One line of what the configuration is, without any secret: run mode, origin, store, providers, integration. */
export function summaryOf(config: Config): string {
  const { server, session, redis, integration } = config;
  const store =
    session.store === 'sqlite'
      ? `sqlite in ${server.dataDir}`
      : session.store === 'redis'
        ? `redis (${redis?.mode ?? 'single'})`
        : 'memory';
  const providers = [config.xt && 'xt', config.oidc && 'oidc'].filter(Boolean).join(', ') || 'none';
  const service = integration.service ? `${integration.service.keys.map((k) => k.name).join(', ')}` : 'off';
  return [
    `NODE_ENV=${server.env}`,
    `public URL ${server.publicUrl.origin}`,
    `store ${store}`,
    `providers ${providers}`,
    `links ${integration.link ? 'on' : 'off'}`,
    `service API keys ${service}`,
    `webhooks ${integration.webhooks ? 'on' : 'off'}`,
    `token keys ${session.tokenEncryptionKeys?.length ?? 'derived from SESSION_SECRET'}`,
  ].join('; ');
}

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'Checks the configuration as the server reads it at start, without starting anything.',
  usage: '',
  help: `
Reads the same environment as the server (it does not load a .env itself: node --env-file=.env
dist/cli.js check-config). Opens no store and calls no provider.

Output: "configuration OK" and a one-line summary on stdout, then each warning the server would
log at start ("warning: …"); or, on stderr, the list of problems a failed start prints. Never a
secret.

Exit codes: 0 the server would start with this configuration; 1 it would refuse (problems listed);
2 usage error.`,
  options: {},
  args: [0, 0],
  async run(_values, _args, io) {
    const config = configFor(io); // prints the problems and exits 1 on a ConfigError
    io.out('configuration OK');
    io.out(summaryOf(config));
    for (const w of config.warnings) io.out(`warning: ${w}`);
    return EXIT_OK;
  },
};

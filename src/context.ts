/** What the handlers share: built once in app.ts and handed to every router. */
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Provider } from './providers/types.js';
import type { XtApi } from './services/xtApi.js';
import type { Sealer } from './session/crypto.js';
import type { Connections } from './session/connections.js';
import type { Stores } from './session/stores/types.js';

export interface AppContext {
  config: Config;
  logger: Logger;
  providers: Map<string, Provider>;
  stores: Stores;
  sealer: Sealer;
  connections: Connections;
  xtApi?: XtApi;
  now: () => number;
  /** Set when a graceful stop begins: readiness then fails so load balancers move traffic away. */
  lifecycle: { draining: boolean };
}

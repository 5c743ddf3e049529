/** What the handlers share: built once in app.ts and handed to every router. */
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import type { Provider } from './providers/types.js';
import type { XtApi } from './services/xtApi.js';
import type { BindingEpochs } from './session/bindings.js';
import type { Sealer } from './session/crypto.js';
import type { Connections } from './session/connections/index.js';
import type { SealedSessionsGrace } from './session/sealedSessions.js';
import type { Stores } from './store/types.js';
import type { Subjects } from './session/subjects.js';
import type { Audit } from './shared/audit.js';
import type { Metrics } from './shared/metrics.js';
import type { WebhookWorker } from './webhooks/delivery.js';

export interface AppContext {
  config: Config;
  logger: Logger;
  providers: Map<string, Provider>;
  stores: Stores;
  sealer: Sealer;
  /** Whether session records stored in clear by an earlier version are still accepted (sealedSessions.ts). */
  sessionGrace: SealedSessionsGrace;
  connections: Connections;
  /** The institution's user ids as opaque store keys (links, the service API). */
  subjects: Subjects;
  /** Each subject's binding epoch: DELETE /v1/subjects/{sub} ends every browser binding to it. */
  bindings: BindingEpochs;
  xtApi?: XtApi;
  /** Delivers the outbox's connection events (WEBHOOK_URL is set); started and stopped by app.ts. */
  webhooks?: WebhookWorker;
  /** Prometheus metrics (served on METRICS_PORT by server.ts). */
  metrics: Metrics;
  /** The audit log: one line per security event. */
  audit: Audit;
  now: () => number;
  /** Set when a graceful stop begins: readiness then fails so load balancers move traffic away. */
  lifecycle: {
    draining: boolean;
    /** Store writes a request started but does not wait for (connections following their session); a stop waits for them. */
    background: Set<Promise<unknown>>;
  };
}

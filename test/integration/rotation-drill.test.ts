/**
 * The rotation drill (issue 26 §1): two replicas on one Redis, under load, and every secret
 * rotated in turn by rolling restarts, as docs/operations.md's runbook says (#rotating-secrets):
 * add the new secret at the end, move it to the front, drop the old one once nothing needs it.
 * Counted: sessions lost and subjects unlinked (not connected at the last look, after the last
 * rotation), valid links broken, webhooks that do not verify, and errors; every count must be 0.
 * Also counted, not asserted: misses, single answers "not connected" for a browser or a subject that
 * is connected again at its next look (a read racing a subject's move while SUBJECT_KEYS is
 * promoted on one replica and not yet on the other). The figures are printed for the closing note.
 *
 * Scaled down so the whole drill runs in well under a minute: SESSION_IDLE_TTL=1m (a cookie is
 * renewed, signed with the newest secret, once older than 6 s), access tokens of 5 s with
 * REFRESH_SKEW=1s (a connection is refreshed, so sealed again under the newest key, every few seconds
 * it is used): "once nothing needs the old one" is then a few seconds of load.
 */
import { randomBytes } from 'node:crypto';
import { linkKid } from '../../src/auth/linkKeys.js';
import { type XtStandIn, startXtStandIn } from '../../standins/xt.js';
import { TEST_SECRET } from '../helpers/harness.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { errorKinds, Load, Replicas } from '../helpers/rotationLoad.js';
import { hookEnv } from '../helpers/webhooks.js';
import { type WebhookReceiver, startReceiver, webhookSecret } from '../helpers/webhookReceiver.js';

const secret = (label: string) => `${label}-${randomBytes(24).toString('base64url')}`;
const key32 = () => randomBytes(32).toString('base64');
const SERVICE_KEY = secret('drill-service-key');
const RENEWED = 7_000; // > a tenth of SESSION_IDLE_TTL (6 s) and > the access token's life (5 s)

let redis: RedisServer;
let xt: XtStandIn;
let receiver: WebhookReceiver;
let replicas: Replicas | undefined;
beforeAll(async () => {
  redis = await startRedis();
  xt = await startXtStandIn({ clientSecret: TEST_SECRET, accessTtlSec: 5 });
});
afterAll(async () => {
  await replicas?.close();
  await receiver?.close();
  await xt.close();
  await redis.stop();
});

test('every secret rotates under load on two replicas: nothing lost', async () => {
  const [S0, S1, K1, L0, L1, T0, T1, W0, W1] = [
    secret('session-0'),
    secret('session-1'),
    secret('subject-1'),
    secret('link-0'),
    secret('link-1'),
    key32(),
    key32(),
    webhookSecret(),
    webhookSecret(),
  ] as const;
  receiver = await startReceiver({ secret: W0 });
  replicas = new Replicas(xt, {
    ...hookEnv(receiver),
    SESSION_STORE: 'redis',
    REDIS_URL: redis.url,
    SESSION_SECRET: S0,
    SESSION_IDLE_TTL: '1m',
    REFRESH_SKEW: '1s',
    TOKEN_ENCRYPTION_KEYS: T0,
    LINK_SECRET: L0,
    SERVICE_API_KEYS: `institution:${SERVICE_KEY}`,
    SERVICE_RATE_LIMIT: '100000', // the drill's lookups are many; the limit is not what it tests
    // What the drill counts is what a rotation loses. On a starved CI machine a Redis command or a
    // token call can outlast the default timeouts (a 503, as designed: redis-faults and the
    // provider tests test that); longer ones keep those stalls out of the count.
    REDIS_COMMAND_TIMEOUT: '5s',
    PROVIDER_TIMEOUT: '5s',
    LOG_LEVEL: 'info',
  });
  await replicas.start();
  const load = new Load(replicas, SERVICE_KEY, L0, linkKid);
  const started = Date.now();
  await load.seed(4, 4);
  load.start();
  // What each step lost, by name (never a value): printed when anything was.
  const steps: string[] = [];
  const roll = async (env: Record<string, string>) => {
    await replicas!.roll(env);
    const c = load.counts;
    steps.push(
      `${Object.keys(env).join()}#${env[Object.keys(env)[0]!]!.split(',').length}:` +
        [c.sessionsLost, c.sessionMisses, c.subjectsUnlinked, c.subjectMisses, c.linksBroken, c.errors].join('/'),
    );
  };

  // SESSION_SECRET: pin SUBJECT_KEYS to it first (no key changes), add at the end, promote, drop.
  await roll({ SUBJECT_KEYS: S0 });
  await roll({ SESSION_SECRET: `${S0},${S1}` });
  await roll({ SESSION_SECRET: `${S1},${S0}` });
  await load.settle(RENEWED);
  await load.sweep(); // every browser seen since: its cookie renewed, signed with S1
  await roll({ SESSION_SECRET: S1 });

  // LINK_SECRET: links minted with the old key and not used yet must survive.
  const pending = [await load.mint(), await load.mint(false)];
  await roll({ LINK_SECRET: `${L1},${L0}` });
  load.linkSecret = L1; // the institution signs with the new key from now on
  for (const link of pending) await load.connect(link);
  await roll({ LINK_SECRET: L1 });

  // SUBJECT_KEYS: add at the end, promote (records move on first use), drop once all have moved.
  await roll({ SUBJECT_KEYS: `${S0},${K1}` });
  await roll({ SUBJECT_KEYS: `${K1},${S0}` });
  await load.sweep(); // every subject and bound browser looked up since the promotion
  await roll({ SUBJECT_KEYS: K1 });

  // TOKEN_ENCRYPTION_KEYS: add at the end, promote, drop once every record in use was sealed again.
  await roll({ TOKEN_ENCRYPTION_KEYS: `${T0},${T1}` });
  await roll({ TOKEN_ENCRYPTION_KEYS: `${T1},${T0}` });
  await load.settle(RENEWED);
  await load.sweep();
  await roll({ TOKEN_ENCRYPTION_KEYS: T1 });

  // WEBHOOK_SECRET: both sign, the receiver switches, the old one goes.
  await roll({ WEBHOOK_SECRET: `${W1},${W0}` });
  receiver.setSecret(W1);
  await load.connect(await load.mint()); // an event signed with both, checked with W1
  await roll({ WEBHOOK_SECRET: W1 });

  await load.stop();
  await load.sweep(); // a last look at everyone, on the final configuration
  const events = load.counts.linksUsed + 4; // one connection.created per login: every link's, and the 4 plain ones
  await receiver.waitFor(() => receiver.accepted.length >= events, 15_000, `${events} webhooks`);
  const figures = {
    ...load.counts,
    restarts: replicas.restarts,
    webhooksDelivered: receiver.accepted.length,
    webhooksUnverifiable: receiver.badSignatures,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  console.log(`rotation drill: ${JSON.stringify(figures)}`);
  if (figures.errors > 0) console.log(`the errors: ${JSON.stringify(Object.fromEntries(errorKinds))}`);
  if (figures.sessionMisses + figures.subjectMisses + figures.subjectsUnlinked + figures.sessionsLost > 0)
    console.log(
      `after each step (lost/missed sessions, unlinked/missed subjects, links broken, errors): ${steps.join(' ')}`,
    );
  expect(figures).toMatchObject({
    sessionsLost: 0,
    linksBroken: 0,
    subjectsUnlinked: 0,
    errors: 0,
    webhooksUnverifiable: 0,
  });
}, 120_000);

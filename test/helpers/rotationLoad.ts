/**
 * The rotation drill's replicas and load (test/integration/rotation-drill.test.ts): two replicas
 * of the app on one Redis, restarted one at a time with a new environment (a rolling restart: a
 * replica is taken out of the rotation, drained, closed and started again), and a bounded load that
 * counts what a rotation could lose: sessions, valid links, linked subjects, and answers that are
 * errors. Webhooks are counted by the receiver (badSignatures).
 */
import request from 'supertest';
import type { Env } from '../../src/config/index.js';
import type { XtStandIn } from '../../standins/xt.js';
import { type Harness, connectXt, sessionJson, startHarness } from './harness.js';
import { linkToken } from './link.js';
import { FAST } from './webhooks.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Counts {
  polls: number;
  lookups: number;
  linksUsed: number;
  /** Browsers whose session is gone: not connected at their last poll. */
  sessionsLost: number;
  /** Polls that said not connected, though the browser was connected again later (a transient miss). */
  sessionMisses: number;
  /** Valid links refused. */
  linksBroken: number;
  /** Subjects not connected at their last look-up. */
  subjectsUnlinked: number;
  /** Look-ups that said not connected, though the subject was connected again later. */
  subjectMisses: number;
  errors: number;
}

/** What an error was: `<what> <status> <error code>`, counted (the drill prints them when it fails). */
export const errorKinds = new Map<string, number>();
const countKind = (kind: string) => errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
const codeOf = (res: { body: unknown }) => (res.body as { error?: { code?: string } } | undefined)?.error?.code ?? '-';

/** Two replicas, each restartable with a new environment while the other serves. */
export class Replicas {
  private readonly slots: (Harness | undefined)[] = [undefined, undefined];
  private readonly inflight = new Map<Harness, number>();
  restarts = 0;
  /** How long the load runs on mixed settings after each replica's restart. */
  mixedMs = 500;

  constructor(
    private readonly xt: XtStandIn,
    private env: Env,
  ) {}

  async start(): Promise<void> {
    for (const i of [0, 1]) this.slots[i] = await this.boot();
  }

  /** Runs `fn` on a live replica (at random), counted in flight so a restart waits for it. */
  async on<T>(fn: (h: Harness) => Promise<T>): Promise<T> {
    const live = this.slots.filter((h): h is Harness => h !== undefined);
    const h = live[Math.floor(Math.random() * live.length)]!;
    this.inflight.set(h, (this.inflight.get(h) ?? 0) + 1);
    try {
      return await fn(h);
    } finally {
      this.inflight.set(h, this.inflight.get(h)! - 1);
    }
  }

  /** A rolling restart with `change` applied to the environment: replica 0, then replica 1. */
  async roll(change: Env): Promise<void> {
    this.env = { ...this.env, ...change };
    for (const i of [0, 1]) {
      const old = this.slots[i]!;
      this.slots[i] = undefined; // out of the load balancer's rotation
      while ((this.inflight.get(old) ?? 0) > 0) await sleep(10); // drained
      await old.close(); // also scans its logs for every secret it held
      this.slots[i] = await this.boot();
      this.restarts += 1;
      // The two replicas now run neighbouring settings side by side, under load, as in a real roll-out.
      await sleep(this.mixedMs);
    }
  }

  async close(): Promise<void> {
    for (const h of this.slots) await h?.close();
  }

  private boot(): Promise<Harness> {
    return startHarness({ standIn: this.xt, env: this.env, app: { webhookTiming: FAST } });
  }
}

/** A person's browser: the session cookie, kept up to date from every answer (renewals). */
interface Browser {
  cookie: string;
  /** Bound to a subject by a link, or a browser's own connection. */
  linked: boolean;
  /** What its last poll said. */
  connected: boolean;
}

const cookieOf = (res: { headers: Record<string, string | string[] | undefined> }): string | undefined =>
  ([] as string[])
    .concat(res.headers['set-cookie'] ?? [])
    .find((c) => /^(xtc\.sid|__Host-xtc)=/.test(c))
    ?.split(';')[0];

/** The load: browsers polling /api/session, subjects looked up by the service API, links minted and used. */
export class Load {
  readonly counts: Counts = {
    polls: 0,
    lookups: 0,
    linksUsed: 0,
    sessionsLost: 0,
    sessionMisses: 0,
    linksBroken: 0,
    subjectsUnlinked: 0,
    subjectMisses: 0,
    errors: 0,
  };
  private readonly browsers: Browser[] = [];
  readonly subjects: string[] = [];
  private readonly unlinked = new Set<string>();
  private running = false;
  private loop: Promise<void> | undefined;
  private next = 0;
  /** The key the institution signs links with (switched during LINK_SECRET's rotation). */
  linkSecret: string;

  constructor(
    private readonly replicas: Replicas,
    private readonly serviceKey: string,
    linkSecret: string,
    private readonly kidOf: (secret: string) => string,
  ) {
    this.linkSecret = linkSecret;
  }

  /** Connects `plain` browsers on their own and `linked` subjects through links (their browsers kept too). */
  async seed(plain: number, linked: number): Promise<void> {
    for (let i = 0; i < plain; i++) await this.connect();
    for (let i = 0; i < linked; i++) await this.connect(await this.mint());
  }

  /** A link for a new subject, signed with the institution's current key (with its kid, or `withKid` false). */
  async mint(withKid = true): Promise<{ sub: string; token: string }> {
    const sub = `drill-${this.next++}`;
    const kid = withKid ? this.kidOf(this.linkSecret) : undefined;
    return { sub, token: await linkToken(sub, { secret: this.linkSecret, kid }) };
  }

  /** Uses a link (or none): a whole login on one replica; its browser then polls everywhere. */
  async connect(link?: { sub: string; token: string }): Promise<void> {
    await this.replicas.on(async (h) => {
      try {
        const res = await connectXt(request.agent(h.built.app), link ? { link: link.token } : {});
        const cookie = cookieOf(res);
        if (res.status !== 303 || !cookie) throw new Error(`callback ${res.status}`);
        this.browsers.push({ cookie, linked: !!link, connected: true });
        if (link) this.subjects.push(link.sub);
        if (link) this.counts.linksUsed += 1;
      } catch (err) {
        if (link) this.counts.linksBroken += 1;
        else this.counts.errors += 1;
        countKind(`connect ${(err as Error).message.slice(0, 60)}`);
      }
    });
  }

  /** One pass: every browser polls and every subject is looked up, each on a replica at random. */
  async sweep(): Promise<void> {
    await Promise.all([...this.browsers.map((b) => this.poll(b)), ...this.subjects.map((s) => this.lookup(s))]);
    this.counts.sessionsLost = this.browsers.filter((b) => !b.connected).length;
    this.counts.subjectsUnlinked = this.unlinked.size;
  }

  start(linkEvery = 4): void {
    this.running = true;
    this.loop = (async (): Promise<void> => {
      for (let tick = 0; this.running; tick++) {
        await this.sweep();
        if (tick % linkEvery === 0 && this.subjects.length < 40) await this.connect(await this.mint());
        await sleep(100);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Keeps the load going for `ms` (so cookies are renewed and tokens refreshed: "once nothing needs the old one"). */
  settle(ms: number): Promise<void> {
    return sleep(ms);
  }

  private async poll(b: Browser): Promise<void> {
    await this.replicas.on(async (h) => {
      const res = await request(h.built.app).get('/api/session').set('Cookie', b.cookie);
      this.counts.polls += 1;
      if (res.status !== 200) {
        this.counts.errors += 1;
        countKind(`poll ${res.status} ${codeOf(res)}`);
      } else {
        b.connected = sessionJson(res).providers.xt.connected;
        if (!b.connected) this.counts.sessionMisses += 1;
      }
      b.cookie = cookieOf(res) ?? b.cookie;
    });
  }

  private async lookup(sub: string): Promise<void> {
    await this.replicas.on(async (h) => {
      const res = await request(h.built.app)
        .get(`/v1/subjects/${sub}/connections`)
        .set('Authorization', `Bearer ${this.serviceKey}`);
      this.counts.lookups += 1;
      if (res.status !== 200) {
        this.counts.errors += 1;
        countKind(`lookup ${res.status} ${codeOf(res)}`);
      } else {
        const connected = (res.body as { connected: boolean }).connected;
        this.unlinked[connected ? 'delete' : 'add'](sub);
        if (!connected) this.counts.subjectMisses += 1;
      }
    });
  }
}

/**
 * The institution's webhook endpoint, as a test (or the bench) runs it: a node:http server on a
 * loopback port that verifies every request with the Standard Webhooks library's own verifier,
 * answers as the test tells it, and counts what it accepted per `webhook-id`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { ConnectionEventBody } from '../../src/session/connections/events.js';
import { recordWebhook } from './contractGuard.js';
import { freePort } from './ports.js';

/** A fresh `whsec_…` secret. */
export const webhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export interface Arrival {
  id: string;
  /** When the request's body had arrived (Date.now()). */
  at: number;
  raw: string;
  body: ConnectionEventBody;
  headers: http.IncomingHttpHeaders;
  /** The library's verifier accepted it. */
  verified: boolean;
  /** 1 for the first request with this webhook-id, 2 for the second… */
  try: number;
}

/** What to answer: a status, or 'hold' (keep the request open, never answer). */
export type Answer = number | 'hold';

export interface WebhookReceiver {
  url: string;
  port: number;
  secret: string;
  /** Every request, in arrival order. */
  arrivals: Arrival[];
  /** The requests answered 2xx, in arrival order. */
  accepted: Arrival[];
  /** How many times each webhook-id was answered 2xx (a duplicate shows as 2). */
  acceptedCount: Map<string, number>;
  /** Requests the verifier refused (answered 400): must stay 0. */
  badSignatures: number;
  /** Decides each answer (default: 204); a promise answers later. */
  answer: (a: Arrival, n: number) => Answer | Promise<Answer>;
  /** Resolves once `check()` holds, polling every 10 ms; rejects after `ms`. */
  waitFor(check: () => boolean, ms?: number, what?: string): Promise<void>;
  /** Verifies from now on with `secret` only (a receiver switching secrets during a rotation). */
  setSecret(secret: string): void;
  /** Stops listening and drops every open (held) request. */
  close(): Promise<void>;
}

/** Starts a receiver on a free port (or `port`: the same endpoint again after a restart). */
export async function startReceiver(
  opts: { secret?: string; port?: number; path?: string } = {},
): Promise<WebhookReceiver> {
  const secret = opts.secret ?? webhookSecret();
  let verifier = new Webhook(secret);
  const port = opts.port ?? (await freePort());
  const sockets = new Set<Socket>();
  const r: WebhookReceiver = {
    url: `http://127.0.0.1:${port}${opts.path ?? '/hooks'}`,
    port,
    secret,
    arrivals: [],
    accepted: [],
    acceptedCount: new Map(),
    badSignatures: 0,
    answer: () => 204,
    async waitFor(check, ms = 10_000, what = 'the receiver condition') {
      const until = Date.now() + ms;
      while (!check()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    },
    setSecret(next) {
      r.secret = next;
      verifier = new Webhook(next);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      let verified = false;
      try {
        verifier.verify(raw, req.headers as Record<string, string>);
        verified = true;
      } catch {
        r.badSignatures++;
      }
      const a: Arrival = {
        id,
        at: Date.now(),
        raw,
        body: safeJson(raw),
        headers: req.headers,
        verified,
        try: r.arrivals.filter((x) => x.id === id).length + 1,
      };
      r.arrivals.push(a);
      void Promise.resolve(verified ? r.answer(a, r.arrivals.length) : 400).then((answer) => {
        if (answer === 'hold' || res.destroyed) return;
        if (answer >= 200 && answer < 300) {
          recordWebhook(raw, req.headers); // checked against the contract by the guard (test/setup/contract.ts)
          r.accepted.push(a);
          r.acceptedCount.set(id, (r.acceptedCount.get(id) ?? 0) + 1);
        }
        res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? '' : 'no');
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () => res());
  });
  if (!opts.port) r.port = (server.address() as AddressInfo).port;
  return r;
}

function safeJson(raw: string): ConnectionEventBody {
  try {
    return JSON.parse(raw) as ConnectionEventBody;
  } catch {
    return {} as ConnectionEventBody;
  }
}

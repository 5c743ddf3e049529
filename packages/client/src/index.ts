/**
 * @xt-connect/client: the institution's backend client for xt-connect. Link URLs, the service API
 * (/v1), XT.COM calls for a subject, and verified webhooks, typed from the contract (api/openapi.yaml).
 */
import { type Query, type Transport, defaultSleep, send, sendJson } from './http.js';
import { type MintLinkOptions, mintLink } from './link.js';
import { providerSegment, subjectPath, xtPath } from './paths.js';
import type { ConnectionList, ConnectionListItem, ListConnectionsQuery, SubjectConnections } from './types.js';
import type { DeliveryList, ListDeliveriesQuery, ReplayOptions, ReplayResult } from './types.js';
import type { WebhookEvent, XtMethod, XtResult } from './types.js';
import { type RawBody, type WebhookHeaders, WebhookVerifier } from './webhooks.js';

export { type ApiKeyPrivateKey, openApiKeySecret } from './apiKeySecret.js';
export { XtConnectError, WebhookVerificationError, type WebhookFailure, type XtConnectErrorInit } from './errors.js';
export { LINK_LIFETIME_S, LINK_MAX_LIFETIME_S, linkKid, type MintLinkOptions } from './link.js';
export { MAX_WAIT_S } from './http.js';
export type * from './types.js';
export type { RawBody, WebhookHeaders } from './webhooks.js';
export type { components, paths, webhooks, operations } from './schema.js';

export interface XtConnectOptions {
  /** Where xt-connect answers, e.g. `http://localhost:3000` (a path prefix is kept). */
  baseUrl: string;
  /** A service API key (`SERVICE_API_KEYS`), sent as `Authorization: Bearer`. */
  serviceKey: string;
  /** LINK_SECRET, for mintLinkUrl: the one key you sign with (the app may list several; the link names it by `kid`). */
  linkSecret?: string;
  /** WEBHOOK_SECRET (`whsec_…`), for webhooks.verify. */
  webhookSecret?: string;
  /** The app's PUBLIC_URL when the browser reaches it elsewhere than `baseUrl`: the link's origin and `aud`. */
  publicUrl?: string;
  /** Default: globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
  /** How many times an idempotent call is tried again after a 429/503 (or, for reads, no answer). Default 2. */
  maxRetries?: number;
}

export interface XtCallOptions {
  /** XT.COM's query parameters. */
  query?: Query;
}
export interface XtBodyOptions extends XtCallOptions {
  /** The JSON body. */
  body?: unknown;
}

export class XtConnect {
  readonly #t: Transport;
  readonly #publicUrl: URL;
  readonly #linkSecret?: Uint8Array;
  readonly #verifier?: WebhookVerifier;

  constructor(opts: XtConnectOptions) {
    const base = new URL(opts.baseUrl);
    if (!opts.serviceKey) throw new TypeError('serviceKey is required');
    const maxRetries = opts.maxRetries ?? 2;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new TypeError('maxRetries must be an integer >= 0');
    this.#t = {
      base: `${base.origin}${base.pathname.replace(/\/+$/, '')}`,
      serviceKey: opts.serviceKey,
      fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
      maxRetries,
      sleep: defaultSleep,
    };
    this.#publicUrl = new URL(opts.publicUrl ?? opts.baseUrl);
    if (opts.linkSecret) this.#linkSecret = new TextEncoder().encode(opts.linkSecret);
    if (opts.webhookSecret) this.#verifier = new WebhookVerifier(opts.webhookSecret);
  }

  /**
   * A login URL for the institution's user `sub`, valid once and for a minute (`expiresIn` to
   * change it, at most 600 s). Mint it for your signed-in user only, just before use: for a user
   * who is already connected it gives the browser that opens it that user's connection.
   */
  async mintLinkUrl(opts: MintLinkOptions): Promise<string> {
    if (!this.#linkSecret) throw new TypeError('mintLinkUrl needs the linkSecret option (LINK_SECRET)');
    return mintLink(this.#publicUrl, this.#linkSecret, opts);
  }

  readonly connections = {
    /** GET /v1/subjects/{sub}/connections: the subject's connection to each provider. Retried on 429/503. */
    get: async (sub: string): Promise<SubjectConnections> =>
      (await sendJson(this.#t, {
        method: 'GET',
        path: `${subjectPath(sub)}/connections`,
        retry: true,
        retryNetwork: true,
      })) as SubjectConnections,

    /** GET /v1/connections: one page. Retried on 429/503. */
    list: async (query: ListConnectionsQuery = {}): Promise<ConnectionList> =>
      (await sendJson(this.#t, {
        method: 'GET',
        path: '/v1/connections',
        query,
        retry: true,
        retryNetwork: true,
      })) as ConnectionList,

    /** Every connection, page after page (`cursor` is ignored: the walk starts at the first page). */
    all: (query: Omit<ListConnectionsQuery, 'cursor'> = {}): AsyncIterable<ConnectionListItem> => this.#all(query),

    /**
     * DELETE /v1/subjects/{sub}/connections/{provider}; resolves on 204. The app documents it as
     * idempotent (204 whether or not there was a connection; src/routes/service.ts), and a 429
     * (the key's rate limit, checked before the route) or a 503 (the store could not finish) means
     * the end did not happen or did not complete, so it is retried on those after Retry-After. It
     * is not retried when no answer came: the first try may have ended it, and by the time a retry
     * lands the person may have connected again, which a retry would then end.
     */
    end: async (sub: string, provider: string): Promise<void> => {
      const path = `${subjectPath(sub)}/connections/${providerSegment(provider)}`;
      await send(this.#t, { method: 'DELETE', path, retry: true });
    },
  };

  async *#all(query: Omit<ListConnectionsQuery, 'cursor'>): AsyncGenerator<ConnectionListItem> {
    let cursor: string | undefined;
    do {
      const page = await this.connections.list({ ...query, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.data;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * XT.COM for a subject, through /v1/subjects/{sub}/xt{path} (SERVICE_XT_API_ALLOW). The answer is
   * XT.COM's own JSON, typed when the contract documents the path. XT.COM's refusal with a 4xx is an
   * XtConnectError `xt_refused` (its body on `.body`); one with a 2xx is returned as is (`rc` 1).
   * Only `get` is retried (429/503, and no answer); `post` and `delete` change orders: never retried.
   */
  readonly xt = {
    get: async <P extends string>(sub: string, path: P, opts: XtCallOptions = {}): Promise<XtResult<'get', P>> =>
      this.#xt('get', sub, path, opts) as Promise<XtResult<'get', P>>,
    post: async <P extends string>(sub: string, path: P, opts: XtBodyOptions = {}): Promise<XtResult<'post', P>> =>
      this.#xt('post', sub, path, opts) as Promise<XtResult<'post', P>>,
    delete: async <P extends string>(sub: string, path: P, opts: XtBodyOptions = {}): Promise<XtResult<'delete', P>> =>
      this.#xt('delete', sub, path, opts) as Promise<XtResult<'delete', P>>,
  };

  #xt(method: XtMethod, sub: string, path: string, opts: XtBodyOptions): Promise<unknown> {
    const read = method === 'get';
    return sendJson(this.#t, {
      method: method === 'get' ? 'GET' : method === 'post' ? 'POST' : 'DELETE',
      path: `${subjectPath(sub)}/xt${xtPath(path)}`,
      query: opts.query,
      body: read ? undefined : opts.body,
      retry: read,
      retryNetwork: read,
      xt: true,
    });
  }

  readonly webhooks = {
    /**
     * The event of a webhook request, once verified (Standard Webhooks, WEBHOOK_SECRET): pass the
     * request's headers and its raw body, unparsed. Throws WebhookVerificationError.
     */
    verify: (headers: WebhookHeaders, rawBody: RawBody): WebhookEvent => {
      if (!this.#verifier) throw new TypeError('webhooks.verify needs the webhookSecret option (WEBHOOK_SECRET)');
      return this.#verifier.verify(headers, rawBody);
    },

    /** GET /v1/webhooks/deliveries (scope `webhooks`): one page of the delivery log, newest first. Retried on 429/503. */
    deliveries: async (query: ListDeliveriesQuery = {}): Promise<DeliveryList> =>
      (await sendJson(this.#t, {
        method: 'GET',
        path: '/v1/webhooks/deliveries',
        query,
        retry: true,
        retryNetwork: true,
      })) as DeliveryList,

    /**
     * POST /v1/webhooks/replay (scope `webhooks.replay`): puts kept events (dead letters, and those
     * delivered within WEBHOOK_LOG_TTL) first created from `since` to `until` back in the queue, each
     * with its own webhook-id; at most 1,000 a call (`more`: call again). Never retried: a replay is
     * not idempotent.
     */
    replay: async ({ since, until, ids }: ReplayOptions): Promise<ReplayResult> => {
      const iso = (t: Date | string) => (t instanceof Date ? t.toISOString() : t);
      const body = {
        since: iso(since),
        ...(until === undefined ? {} : { until: iso(until) }),
        ...(ids ? { ids } : {}),
      };
      return (await sendJson(this.#t, {
        method: 'POST',
        path: '/v1/webhooks/replay',
        body,
        retry: false,
      })) as ReplayResult;
    },
  };
}

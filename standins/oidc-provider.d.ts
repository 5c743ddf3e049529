/**
 * The little of oidc-provider v9 that the stand-in uses. The package ships no types and
 * @types/oidc-provider trails the major versions; this keeps the stand-in type-checked
 * without a second dev dependency.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** The Koa context, as far as the stand-in's middleware reads and writes it. */
  export interface ProviderContext {
    path: string;
    method: string;
    status: number;
    body: unknown;
    /** Koa's response Content-Type shorthand (`html`, `json`, …). */
    type: string;
    oidc?: { route?: string; params?: Record<string, unknown> };
    get(field: string): string;
    set(field: string, value: string): void;
    response: { get(field: string): string | undefined };
  }

  export type ProviderMiddleware = (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>;

  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string };
    grantId?: string;
  }

  export interface GrantInstance {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    save(): Promise<string>;
  }

  export interface TokenInstance {
    grantId?: string;
    destroy(): Promise<void>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    readonly issuer: string;
    /** Koa's: trust X-Forwarded-Proto/-Host (behind a TLS proxy). */
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: ProviderMiddleware): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): GrantInstance;
      find(id: string): Promise<GrantInstance | undefined>;
    };
    readonly RefreshToken: { find(value: string): Promise<TokenInstance | undefined> };
  }
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  /** oidc-provider's own in-memory adapter; `store` is any Map-like (get, set, delete). */
  export default class MemoryAdapter {
    constructor(model: string, store?: unknown, clockTolerance?: number);
  }
}

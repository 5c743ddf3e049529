/**
 * What the XT.COM stand-in's parts share: its options (changeable while it runs), its signing key,
 * the codes and refresh tokens it knows, the test hooks' queues, and what it has recorded.
 */
import type { XtFailure, XtStandIn } from '../xt.js';
import { newUserApiState } from '../xtUser.js';

export type XtOptions = XtStandIn['options'];

/** An authorization code's grant (single use, 5 minutes). */
export interface Grant {
  userId: string;
  scope: string;
  clientId: string;
  redirectUri: string;
  expiresAt: number;
}

export interface RefreshGrant {
  userId: string;
  scope: string;
  expiresAt: number;
}

/** A change to the next token result: fields to merge (or a function of the result); `raw`: sent as the whole answer. */
export interface ResultOverride {
  patch: Record<string, unknown> | ((r: Record<string, unknown>) => unknown);
  raw: boolean;
}

/** An answer the token endpoint gives exactly as it is (respondNextWith). */
export interface RawResponse {
  status?: number;
  contentType?: string;
  body: string;
}

export class XtState {
  readonly codes = new Map<string, Grant>();
  readonly refreshTokens = new Map<string, RefreshGrant>();
  /** Every token and code issued (tests search logs and pages for them). */
  readonly issued: string[] = [];
  /** Access tokens of an earlier epoch are refused: revokeAccessTokens() moves it on. */
  accessEpoch = 0;
  readonly failures: { kind: XtFailure; grant?: string }[] = [];
  readonly overrides: ResultOverride[] = [];
  readonly rawResponses: RawResponse[] = [];
  /** The user APIs' own state (xtUser.ts); its call counters are the stand-in's, with the token endpoint's added. */
  readonly api = newUserApiState();
  readonly calls = Object.assign(this.api.calls, { authorization_code: 0, refresh_token: 0 });
  readonly refreshTokensPresented: string[] = [];
  /** Timers of `timeout` failures and answer delays still pending (close() clears them). */
  readonly hanging = new Set<NodeJS.Timeout>();

  constructor(
    readonly options: XtOptions,
    readonly key: { privateKey: CryptoKey; publicKey: CryptoKey },
  ) {}

  /** The stand-in's clock: `options.now`, read at each call (a test may swap it). */
  now(): number {
    return this.options.now();
  }

  /** Resolves after `ms`, unless close() clears the timer first. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.hanging.delete(t);
        r();
      }, ms);
      this.hanging.add(t);
    });
  }
}

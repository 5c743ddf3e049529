/**
 * The one interface every provider dialect implements. Routes, the login transaction,
 * refresh coordination and the pages only ever talk to this.
 */
import type { LoginExtras, TokenResponse } from '../shared/tokens.js';

export type { LoginExtras, TokenResponse };

export interface AuthorizeParams {
  state: string;
  redirectUri: string;
  /** The person's preferred language, already mapped to the provider's list when it has one. */
  lang: string;
  extras: LoginExtras;
}

export interface ExchangeParams {
  code: string;
  redirectUri: string;
  extras: LoginExtras;
  /** The full callback URL as the provider sent it (OIDC libraries validate it). */
  callbackUrl: URL;
  state: string;
}

/** What RP-initiated logout needs to build the provider's logout request. */
export interface LogoutParams {
  /** Where the provider sends the browser back: PUBLIC_URL + `/` (registered at the provider). */
  postLogoutRedirect: string;
  /** A fresh single-use value kept in the session; the provider echoes it back (`state`). */
  state: string;
  /** The ID token of the connection just forgotten (`id_token_hint`), when there was one. */
  idToken?: string;
  /** The person's page language, mapped to the provider's list (`ui_locales`). */
  lang?: string;
}

/** Where Disconnect sends the browser after the local disconnect. */
export interface ProviderLogout {
  url: URL;
  /**
   * True for a standard end_session_endpoint (OpenID Connect RP-Initiated Logout), which comes back
   * with `state`: the disconnected confirmation waits for it. False for a provider's own logout page.
   */
  returnsState: boolean;
}

/** A back-channel logout token, checked: whom it names and until when its `jti` must stay spent. */
export type LogoutTokenCheck =
  | { ok: true; sid?: string; sub?: string; jti: string; expiresAt: number }
  /** Refused: `reason` is a short plain phrase, safe for a log line and the 400 answer. */
  | { ok: false; reason: string };

export interface Provider {
  readonly id: string;
  readonly label: string;
  /** False while the provider cannot be used (OIDC discovery failed, say); then it also prompts an early retry. */
  checkAvailability(): boolean;
  /** Waits for a check in progress (a discovery retry) to settle; true when the provider is usable. */
  whenReady?(): Promise<boolean>;
  /** Stops background work (timers) at shutdown. */
  close?(): void;
  /** Fresh per-login secrets (nonce, PKCE verifier) to store in the login transaction. */
  prepareLogin(): Promise<LoginExtras>;
  authorizeUrl(params: AuthorizeParams): Promise<URL>;
  /** Exchanges a code once. Throws AppError (provider_*) on any failure; never retried. */
  exchangeCode(params: ExchangeParams): Promise<TokenResponse>;
  /** Throws AppError `provider_rejected` for a definite rejection, other provider_* codes for transient trouble. */
  refresh(refreshToken: string, current?: { userId?: string; claims?: Record<string, string> }): Promise<TokenResponse>;
  /** Best effort: revoke the refresh token at the provider. */
  revoke?(refreshToken: string): Promise<void>;
  /** Where to send the browser after a local disconnect: the provider's logout, when it has one and it is on. */
  logout?(params: LogoutParams): ProviderLogout | undefined;
  /** True when the provider sends back-channel logouts: its connections are indexed by session and user. */
  readonly backchannelLogout?: boolean;
  /**
   * Checks a back-channel logout token (signature, claims, algorithm). Throws an AppError only when
   * the provider cannot be reached to check it (its JWKS, its discovery).
   */
  verifyLogoutToken?(token: string): Promise<LogoutTokenCheck>;
  /** Languages the provider's pages know; the first is the fallback. */
  readonly languages?: readonly string[];
}

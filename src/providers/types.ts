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
  refresh(refreshToken: string, current?: { userId?: string }): Promise<TokenResponse>;
  /** Best effort: revoke the refresh token at the provider. */
  revoke?(refreshToken: string): Promise<void>;
  /** Where to send the browser after a local disconnect, if the provider has its own logout page. */
  logoutUrl?(postLogoutRedirect: string): URL | undefined;
  /** Languages the provider's pages know; the first is the fallback. */
  readonly languages?: readonly string[];
}

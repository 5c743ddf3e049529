/**
 * The one interface every provider dialect implements. Routes, the login transaction,
 * refresh coordination and the pages only ever talk to this.
 */

/** What a provider hands back after a code exchange or a refresh, normalised. */
export interface TokenResponse {
  accessToken: string;
  /** Absent when the provider did not send one (on refresh: keep the old one). */
  refreshToken?: string;
  idToken?: string;
  /** Epoch milliseconds; undefined when neither the token nor the response says. */
  accessExpiresAt?: number;
  refreshExpiresAt?: number;
  scope?: string;
  /** The person's id at the provider, when known. */
  userId?: string;
  /** Display claims (name, email, …) already validated by the provider module. */
  claims?: Record<string, string>;
}

/** Per-login values a dialect needs to keep between the redirect and the callback (nonce, PKCE verifier). */
export type LoginExtras = Record<string, string>;

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
  /** False while the provider cannot be used (OIDC discovery failed, say). */
  isAvailable(): boolean;
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

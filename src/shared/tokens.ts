/**
 * The vocabulary every layer shares about tokens: what a provider hands back, and what a login
 * keeps between the redirect and the callback. Types only.
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
  /** The provider's session id (the ID token's `sid`), which a back-channel logout names. */
  sid?: string;
}

/** Per-login values a dialect needs to keep between the redirect and the callback (nonce, PKCE verifier). */
export type LoginExtras = Record<string, string>;

/**
 * An `error=` the provider sent to the callback instead of a code: once the login's transaction is
 * spent (by the callback, first), the error becomes what the person is told (declined, the
 * provider's trouble, or the site's misconfiguration).
 */
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import type { Provider } from '../providers/types.js';

/**
 * The caller has spent the transaction already, so the same state cannot be used again. Without a
 * pending transaction (stale, replayed or forged) that step threw login_expired: nobody here was asked anything.
 */
export function refuseProviderError(ctx: AppContext, provider: Provider, p: { error?: string }): never {
  const error = /^[a-z_]{1,64}$/.test(p.error ?? '') ? p.error! : 'invalid';
  ctx.logger.info({ provider: provider.id, error }, 'the provider returned an error to the callback');
  throw new AppError(callbackErrorCode(error), { provider: provider.id, detail: { error } });
}

/** What the person did (or could not do) at the provider: a decision, not a failure (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6). */
const DECLINED = new Set([
  'access_denied',
  'consent_required',
  'login_required',
  'interaction_required',
  'account_selection_required',
]);
/** The provider's own trouble: try again later. */
const PROVIDER_TROUBLE = new Set(['temporarily_unavailable', 'server_error']);

/** A declined login is login_denied; the provider's trouble is provider_unavailable; anything else (a bad request, an unknown client or scope) is the site's misconfiguration. */
function callbackErrorCode(error: string): 'login_denied' | 'provider_unavailable' | 'provider_misconfigured' {
  if (DECLINED.has(error)) return 'login_denied';
  return PROVIDER_TROUBLE.has(error) ? 'provider_unavailable' : 'provider_misconfigured';
}

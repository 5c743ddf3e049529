/**
 * LINK_SECRET's keys and their ids. LINK_SECRET is a list, newest first (a rotation): the
 * institution signs with one of them and puts that key's id in the token's `kid` header, so the
 * token is verified under that key alone. A token without `kid` (minted before kids, or by a site
 * that sets none) is tried under each key in turn, so links already handed out survive a rotation.
 *
 *   kid = the first 16 characters of base64url(SHA-256("xt-connect-link-kid-v1:" ‖ LINK_SECRET))
 *
 * Derived from the secret alone, so both sides work it out with no coordination, and it reveals
 * nothing of the secret (packages/client's mintLinkUrl sets it the same way).
 */
import { createHash } from 'node:crypto';

const KID_LABEL = 'xt-connect-link-kid-v1:';

/** The `kid` of a link key. */
export function linkKid(secret: string | Uint8Array): string {
  return createHash('sha256').update(KID_LABEL).update(secret).digest('base64url').slice(0, 16);
}

/**
 * The keys to try for `token`, in order: the one its `kid` names (none when it names an unknown
 * key, so the token is refused), or every key, newest first, when it carries no `kid`.
 */
export function linkKeysFor(secrets: readonly string[], token: string): Uint8Array[] {
  const kid = headerKid(token);
  const chosen = kid === undefined ? secrets : secrets.filter((s) => linkKid(s) === kid);
  return chosen.map((s) => new TextEncoder().encode(s));
}

/** The header's `kid`: a string, or undefined when absent or the header cannot be read (verify then refuses it). */
function headerKid(token: string): string | undefined {
  const header = token.split('.', 1)[0] ?? '';
  try {
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown } | null)?.kid;
    return typeof kid === 'string' ? kid : kid === undefined ? undefined : '';
  } catch {
    return undefined;
  }
}

/** Connection views for pages and the API, with provider trouble turned into a visible state. */
import type { Request, Response } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import type { ConnectionView } from '../session/connections/index.js';
import { connectionOwner } from '../session/owner.js';

export interface ProviderStatus {
  id: string;
  label: string;
  available: boolean;
  view: ConnectionView;
  /** When the provider is unreachable: how long until the next refresh attempt. */
  retryAfterMs?: number;
}

/** One view per configured provider. A provider that cannot be reached right now is reported, not thrown. */
export async function providerStatuses(ctx: AppContext, req: Request): Promise<ProviderStatus[]> {
  const owner = connectionOwner(req);
  return Promise.all(
    [...ctx.providers.values()].map(async (p) => {
      try {
        return {
          id: p.id,
          label: p.label,
          available: p.checkAvailability(),
          view: await ctx.connections.view(owner, p.id),
        };
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'provider_down') throw err;
        const retryAfterMs = typeof err.detail.retryAfterMs === 'number' ? err.detail.retryAfterMs : undefined;
        return {
          id: p.id,
          label: p.label,
          available: p.checkAvailability(),
          view: { provider: p.id, connected: false, reason: 'provider_unavailable' },
          retryAfterMs,
        };
      }
    }),
  );
}

/**
 * Seconds to wait when a connected provider cannot be reached and its token has expired (the
 * answer is then a 503 with Retry-After); undefined when every provider is usable or idle. The
 * page or JSON still carries every provider's state.
 */
export function retryAfterSec(statuses: ProviderStatus[]): number | undefined {
  const down = statuses.filter((x) => x.view.reason === 'provider_unavailable');
  if (!down.length) return undefined;
  return Math.ceil(Math.max(1000, ...down.map((x) => x.retryAfterMs ?? 0)) / 1000);
}

/** Sets the status (and Retry-After) that `statuses` call for. */
export function setStatusFor(res: Response, statuses: ProviderStatus[]): Response {
  const wait = retryAfterSec(statuses);
  if (wait === undefined) return res.status(200);
  return res.status(503).set('Retry-After', String(wait));
}

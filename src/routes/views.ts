/** Connection views for pages and the API, with provider trouble turned into a visible state. */
import type { Request } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import type { ConnectionView } from '../session/connections.js';

export interface ProviderStatus {
  id: string;
  label: string;
  available: boolean;
  view: ConnectionView;
}

/** One view per configured provider. A provider that cannot be reached right now is reported, not thrown. */
export async function providerStatuses(ctx: AppContext, req: Request): Promise<ProviderStatus[]> {
  const owner = req.session?.owner;
  return Promise.all(
    [...ctx.providers.values()].map(async (p) => {
      let view: ConnectionView;
      try {
        view = await ctx.connections.view(owner, p.id);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'provider_unavailable') throw err;
        view = { provider: p.id, connected: false, reason: 'provider_unavailable' };
      }
      return { id: p.id, label: p.label, available: p.isAvailable(), view };
    }),
  );
}

export const anyUnavailable = (s: ProviderStatus[]) => s.some((x) => x.view.reason === 'provider_unavailable');

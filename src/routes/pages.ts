import { type Request, type Response, Router } from 'express';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { newCsrfToken } from '../shared/crypto.js';
import { type Balance, spotBalances } from '../services/xtApi.js';
import { providerStatuses, setStatusFor } from './providerStatus.js';
import { connectionOwner } from '../session/owner.js';

type BalancePanel = { state: 'ok'; balances: Balance[] } | { state: 'failed' | 'reconnect' | 'misconfigured' };

async function balancePanel(ctx: AppContext, owner: string): Promise<BalancePanel> {
  if (!ctx.xtApi) return { state: 'failed' };
  try {
    return { state: 'ok', balances: await spotBalances(ctx.xtApi, owner) };
  } catch (err) {
    const code = err instanceof AppError ? err.code : 'internal';
    ctx.logger.warn({ code, detail: err instanceof AppError ? err.detail : undefined }, 'balances could not be loaded');
    return { state: code === 'reconnect_required' ? 'reconnect' : code === 'provider_misconfigured' ? 'misconfigured' : 'failed' };
  }
}

export function pagesRouter(ctx: AppContext): Router {
  const r = Router();

  r.get('/', async function home(req: Request, res: Response) {
    const statuses = await providerStatuses(ctx, req);
    res.render('home.njk', { statuses });
  });

  r.get('/account', async function account(req: Request, res: Response) {
    const statuses = await providerStatuses(ctx, req);
    const owner = connectionOwner(req);
    const xt = statuses.find((s) => s.id === 'xt');
    const balances = owner && xt?.view.connected ? await balancePanel(ctx, owner) : undefined;
    if (owner && !req.session.csrf) req.session.csrf = newCsrfToken();
    setStatusFor(res, statuses).render('account.njk', { statuses, balances, csrf: req.session?.csrf });
  });

  return r;
}

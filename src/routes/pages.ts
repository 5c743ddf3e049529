/**
 * The person's pages: home (connect) and account (the connections), each in one plain state that
 * `<main data-state>` names, with the one-time notice a connect, a disconnect or a stale callback
 * left in the session.
 */
import { type Request, type Response, Router } from 'express';
import { acceptLogoutReturn } from '../auth/logoutReturn.js';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import {
  type Locale,
  type MessageKey,
  type Translate,
  htmlLang,
  languagePreference,
  pickProviderLanguage,
} from '../i18n/index.js';
import { newCsrfToken } from '../shared/crypto.js';
import { type Balance, spotBalances } from '../services/xtApi.js';
import type { Notice } from '../session/owner.js';
import { connectionOwner } from '../session/owner.js';
import { grantsFor } from './grants.js';
import { type ProviderStatus, providerStatuses, setStatusFor } from './providerStatus.js';

type BalancePanel = { state: 'ok'; balances: Balance[] } | { state: 'failed' | 'reconnect' | 'misconfigured' };

/** How long a person's balances are shown again without asking XT.COM (the page's script refreshes them live). */
export const BALANCES_FRESH_MS = 10_000;
const MAX_CACHED_PEOPLE = 5000;

/**
 * Each person's last balances, for BALANCES_FRESH_MS: the account page does not wait on XT.COM on
 * every view (nor spend the person's XT.COM rate limit on reloads). Keyed by the private owner id.
 * Views that find no fresh value at the same moment share one call to XT.COM: a reload storm or
 * many tabs would otherwise each call, queue behind the person's XT.COM rate limit, and wait.
 */
function recentBalances(ctx: AppContext) {
  const recent = new Map<string, { at: number; panel: BalancePanel }>();
  const loading = new Map<string, Promise<BalancePanel>>();
  const load = async (owner: string): Promise<BalancePanel> => {
    const panel = await balancePanel(ctx, owner);
    recent.delete(owner);
    if (panel.state === 'ok') {
      if (recent.size >= MAX_CACHED_PEOPLE) recent.delete(recent.keys().next().value!);
      recent.set(owner, { at: ctx.now(), panel });
    }
    return panel;
  };
  return (owner: string): Promise<BalancePanel> => {
    const hit = recent.get(owner);
    if (hit && ctx.now() - hit.at < BALANCES_FRESH_MS) return Promise.resolve(hit.panel);
    let pending = loading.get(owner);
    if (!pending) {
      pending = load(owner).finally(() => loading.delete(owner));
      loading.set(owner, pending);
    }
    return pending;
  };
}

async function balancePanel(ctx: AppContext, owner: string): Promise<BalancePanel> {
  if (!ctx.xtApi) return { state: 'failed' };
  try {
    return { state: 'ok', balances: await spotBalances(ctx.xtApi, owner) };
  } catch (err) {
    const code = err instanceof AppError ? err.code : 'internal';
    ctx.logger.warn({ code, detail: err instanceof AppError ? err.detail : undefined }, 'balances could not be loaded');
    return {
      state:
        code === 'reconnect_required' ? 'reconnect' : code === 'provider_misconfigured' ? 'misconfigured' : 'failed',
    };
  }
}

/** The states a page (and each provider's card) can be in; `data-state` on <main> and on each card. */
export type PageState =
  | 'not-connected'
  | 'connected'
  | 'disconnected'
  | 'declined'
  | 'still-connected'
  | 'reconnect-needed'
  | 'unavailable'
  | 'misconfigured';

type CardState = 'not-connected' | 'connected' | 'reconnect-needed' | 'unavailable';

/** A time for the page: ISO for <time datetime> (rewritten in the reader's zone by localtime.js), and a UTC fallback text. */
interface When {
  iso: string;
  text: string;
}

interface Card {
  id: string;
  label: string;
  state: CardState;
  /** Unavailable, but the person has a connection that is kept meanwhile. */
  kept: boolean;
  who?: string;
  email?: string;
  userId?: string;
  showUserId: boolean;
  scope?: string;
  since?: When;
  until?: When;
  accessExp?: When;
  lastRefresh?: When;
  deferred: boolean;
  endedWhy?: string;
  grants: string[];
  registerUrl?: string;
  registerLang?: string;
}

const ENDED: Record<string, MessageKey> = {
  refresh_rejected: 'ended.refresh_rejected',
  refresh_expired: 'ended.refresh_expired',
  access_expired: 'ended.access_expired',
  unreadable: 'ended.unreadable',
};

/** A notice older than this was never shown (the person went elsewhere); it is dropped unread. */
const NOTICE_TTL_MS = 10 * 60_000;

/** The session's one-time notice, taken out of the session: shown on this page and never again. */
function takeNotice(req: Request): Notice | undefined {
  const n = req.session?.notice;
  if (!n) return undefined;
  delete req.session.notice;
  return Date.now() - n.at <= NOTICE_TTL_MS ? n : undefined;
}

function noticeView(
  n: Notice | undefined,
  ctx: AppContext,
  t: Translate,
): { kind: string; tone: 'ok' | 'info'; lines: string[] } | undefined {
  if (!n) return undefined;
  const provider = ctx.providers.get(n.provider)?.label ?? n.provider;
  if (n.kind === 'connected') return { kind: n.kind, tone: 'ok', lines: [t('notice.connected', { provider })] };
  if (n.kind === 'disconnected') {
    const lines = [t('notice.disconnected', { provider })];
    if (n.revoked) lines.push(t('notice.revoked', { provider }));
    if (n.signedOut) lines.push(t('notice.signedOut', { provider }));
    return { kind: n.kind, tone: 'info', lines };
  }
  return {
    kind: n.kind,
    tone: 'ok',
    lines: [t(n.declined ? 'notice.keptAfterDecline' : 'notice.stillConnected', { provider })],
  };
}

/** One date format per language, built once: an Intl.DateTimeFormat costs more to make than a page costs to render. */
const DATE_FORMATS = new Map<Locale, Intl.DateTimeFormat>();
function dateFormat(locale: Locale): Intl.DateTimeFormat {
  let fmt = DATE_FORMATS.get(locale);
  if (!fmt)
    DATE_FORMATS.set(
      locale,
      (fmt = new Intl.DateTimeFormat(htmlLang(locale), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })),
    );
  return fmt;
}

function pageModel(ctx: AppContext, req: Request, res: Response) {
  const locale = res.locals.locale as Locale;
  const t = res.locals.t as Translate;
  const fmt = dateFormat(locale);
  const when = (iso: string | undefined): When | undefined =>
    iso ? { iso, text: `${fmt.format(new Date(iso))} UTC` } : undefined;

  const card = (s: ProviderStatus): Card => {
    const v = s.view;
    const state: CardState = v.connected
      ? 'connected'
      : v.reason === 'provider_unavailable' || !s.available
        ? 'unavailable'
        : v.reason && v.reason !== 'not_connected'
          ? 'reconnect-needed'
          : 'not-connected';
    const name = v.claims?.name;
    const email = v.claims?.email;
    const who = name ?? email ?? v.userId;
    const c: Card = {
      id: s.id,
      label: s.label,
      state,
      kept: v.reason === 'provider_unavailable',
      who,
      email,
      userId: v.userId,
      showUserId: !!v.userId && who !== v.userId,
      scope: v.scope,
      since: when(v.connectedAt),
      until: when(v.refreshTokenExpiresAt),
      accessExp: when(v.accessTokenExpiresAt),
      lastRefresh: when(v.lastRefreshedAt),
      deferred: !!v.refreshDeferredUntil,
      endedWhy:
        state === 'reconnect-needed' && v.reason && ENDED[v.reason]
          ? t(ENDED[v.reason]!, { provider: s.label })
          : undefined,
      grants: grantsFor(ctx.config, s, locale, t, v.connected ? v.scope : undefined),
    };
    const xt = ctx.config.xt;
    if (s.id === 'xt' && xt && state !== 'connected') {
      const lang = pickProviderLanguage(
        languagePreference(req.headers.cookie, req.get('accept-language')),
        ctx.providers.get('xt')?.languages ?? ['en'],
      );
      c.registerLang = lang;
      c.registerUrl = xt.registerUrl
        .replace(/\{lang\}/g, encodeURIComponent(lang))
        .replace(/\{client_id\}/g, encodeURIComponent(xt.clientId));
    }
    return c;
  };
  return { t, card };
}

/** Which card state speaks for the page when providers differ: trouble first, then a connection. */
const RANK: Record<string, number> = {
  'reconnect-needed': 0,
  'unavailable-kept': 1,
  connected: 2,
  unavailable: 3,
  'not-connected': 4,
};

function pageState(cards: Card[], notice: Notice | undefined): PageState {
  if (notice?.kind === 'disconnected' || notice?.kind === 'still-connected') return notice.kind;
  const key = (c: Card) => (c.state === 'unavailable' && c.kept ? 'unavailable-kept' : c.state);
  const top = [...cards].sort((a, b) => RANK[key(a)]! - RANK[key(b)]!)[0];
  return top ? top.state : 'not-connected';
}

export function pagesRouter(ctx: AppContext): Router {
  const r = Router();
  const balancesOf = recentBalances(ctx);

  r.get('/', async function home(req: Request, res: Response) {
    acceptLogoutReturn(req); // back from the provider's logout with our state: the disconnected confirmation
    const statuses = await providerStatuses(ctx, req);
    const { t, card } = pageModel(ctx, req, res);
    const cards = statuses.map(card);
    // A connection to renew: the card's Reconnect is a form (CSRF-protected), as on the account page.
    const owner = connectionOwner(req);
    if (owner && cards.some((c) => c.state === 'reconnect-needed') && !req.session.csrf)
      req.session.csrf = newCsrfToken();
    const notice = takeNotice(req);
    const allConnected = cards.length > 0 && cards.every((c) => c.state === 'connected');
    const one = cards.length === 1 ? { provider: cards[0]!.label } : undefined;
    const title = allConnected
      ? one
        ? t('home.titleConnectedOne', one)
        : t('home.titleConnectedMany')
      : one
        ? t('home.titleOne', one)
        : t('home.titleMany');
    const lead = t(allConnected ? 'home.leadConnected' : 'home.lead');
    res.render('home.njk', {
      cards,
      csrf: owner ? req.session?.csrf : undefined,
      title,
      lead,
      pageState: pageState(cards, notice),
      notice: noticeView(notice, ctx, t),
    });
  });

  r.get('/account', async function account(req: Request, res: Response) {
    const statuses = await providerStatuses(ctx, req);
    const owner = connectionOwner(req);
    const xt = statuses.find((s) => s.id === 'xt');
    const balances = owner && xt?.view.connected ? await balancesOf(owner) : undefined;
    if (owner && !req.session.csrf) req.session.csrf = newCsrfToken();
    const { t, card } = pageModel(ctx, req, res);
    const cards = statuses.map(card);
    const notice = takeNotice(req);
    setStatusFor(res, statuses).render('account.njk', {
      cards,
      balances,
      csrf: req.session?.csrf,
      pageState: pageState(cards, notice),
      notice: noticeView(notice, ctx, t),
    });
  });

  return r;
}

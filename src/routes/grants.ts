/**
 * "What the site gets", in plain words: one line per thing connecting lets the site see or do,
 * from the scope (XT_SCOPE, OIDC_SCOPE, or the scope a connection was granted) and, for XT.COM,
 * from what the site's pages may call (XT_API_ALLOW). The institution's own words (SCOPE_TEXTS)
 * replace the built-in ones per scope; a scope nobody knows is listed as it is.
 */
import type { Config, ScopeText } from '../config/index.js';
import { type Locale, type MessageKey, type Translate, htmlLang } from '../i18n/index.js';
import type { AllowEntry } from './xt/allowList.js';

/** Known scopes: the line each one stands for. */
const XT_SCOPES: Record<string, MessageKey> = { userinfo: 'grant.xtUserId', spotAssets: 'grant.balances' };
const OIDC_SCOPES: Record<string, MessageKey> = {
  openid: 'grant.oidcId',
  profile: 'grant.profile',
  email: 'grant.email',
  phone: 'grant.phone',
  address: 'grant.address',
  offline_access: 'grant.offline',
};

/** XT.COM user API paths, by what calling them means for the person. */
const READ_BALANCES = ['/spot/v4/balance', '/spot/v4/balances'];
const READ_ORDERS = [
  '/spot/v4/order',
  '/spot/v4/order/1',
  '/spot/v4/batch-order',
  '/spot/v4/open-order',
  '/spot/v4/history-order',
  '/spot/v4/trade',
];
const WRITE_ORDERS = ['/spot/v4/order', '/spot/v4/order/1', '/spot/v4/batch-order', '/spot/v4/open-order'];

function matches(entry: AllowEntry, path: string): boolean {
  const segments = path.slice(1).split('/');
  return entry.segments.length === segments.length && entry.segments.every((s, i) => s === '*' || s === segments[i]);
}

function allowed(allow: AllowEntry[], methods: string[], paths: string[]): boolean {
  return allow.some((e) => methods.includes(e.method) && paths.some((p) => matches(e, p)));
}

function ownWords(text: ScopeText | undefined, locale: Locale): string | undefined {
  if (text === undefined) return undefined;
  if (typeof text === 'string') return text;
  return text[htmlLang(locale) as keyof typeof text];
}

export const splitScope = (scope: string | undefined): string[] => [
  ...new Set((scope ?? '').split(/[\s,]+/).filter(Boolean)),
];

/**
 * The lines for `provider` ('xt', 'oidc' or another id), in the person's language. `scope`
 * defaults to the configured one.
 */
export function grantsFor(
  config: Config,
  provider: { id: string; label: string },
  locale: Locale,
  t: Translate,
  scope?: string,
): string[] {
  const known = provider.id === 'xt' ? XT_SCOPES : provider.id === 'oidc' ? OIDC_SCOPES : {};
  const configured = provider.id === 'xt' ? config.xt?.scope : provider.id === 'oidc' ? config.oidc?.scope : undefined;
  const lines = new Map<string, string>();
  const vars = { provider: provider.label };
  for (const s of splitScope(scope ?? configured)) {
    const key = known[s];
    const id = key ?? `scope:${s}`;
    if (lines.has(id)) continue;
    lines.set(
      id,
      ownWords(config.site.scopeTexts[s], locale) ?? (key ? t(key, vars) : t('grant.unknown', { ...vars, scope: s })),
    );
  }
  if (provider.id === 'xt') {
    const allow = config.xtCalls.allow;
    const add = (key: MessageKey) => {
      if (!lines.has(key)) lines.set(key, t(key, vars));
    };
    if (allowed(allow, ['GET'], READ_BALANCES)) add('grant.balances');
    if (allowed(allow, ['GET'], READ_ORDERS)) add('grant.orders');
    if (allowed(allow, ['POST', 'DELETE'], WRITE_ORDERS)) add('grant.trade');
  }
  return [...lines.values()];
}

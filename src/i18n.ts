/**
 * The two languages of the pages (English and Chinese), and the mapping from a browser's
 * Accept-Language to a provider's own list of page languages.
 */
export type Locale = 'en' | 'zh';

/** Parses Accept-Language into tags ordered by preference (q-values honoured, junk ignored). */
export function preferredLanguages(header: string | undefined): string[] {
  if (!header || header.length > 1000) return [];
  return header
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](\.\d{0,3})?)\s*$/.exec(p)).find(Boolean);
      return { tag: (tag ?? '').trim(), q: q ? Number(q[1]) : 1, i };
    })
    .filter((x) => /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(x.tag) && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((x) => x.tag);
}

export function pickLocale(header: string | undefined): Locale {
  for (const tag of preferredLanguages(header)) {
    const primary = tag.toLowerCase().split('-')[0];
    if (primary === 'zh') return 'zh';
    if (primary === 'en') return 'en';
  }
  return 'en';
}

/**
 * The provider page language closest to the person's preference, or the list's first entry.
 * Chinese is split by script: zh-TW/zh-HK/zh-MO/zh-Hant → zh-HK, other zh → zh-CN.
 */
export function pickProviderLanguage(header: string | undefined, supported: readonly string[]): string {
  const fallback = supported[0] ?? 'en';
  const lower = new Map(supported.map((s) => [s.toLowerCase(), s]));
  for (const tag of preferredLanguages(header)) {
    const t = tag.toLowerCase();
    if (lower.has(t)) return lower.get(t)!;
    const [primary, ...rest] = t.split('-');
    if (primary === 'zh') {
      const traditional = rest.some((r) => ['tw', 'hk', 'mo', 'hant'].includes(r));
      const want = traditional ? 'zh-hk' : 'zh-cn';
      if (lower.has(want)) return lower.get(want)!;
    }
    if (primary && lower.has(primary)) return lower.get(primary)!;
  }
  return fallback;
}

const en = {
  'app.title': 'xt-connect',
  'app.tagline': 'Connect your account, keep your tokens on the server.',
  'home.connect': 'Connect {provider}',
  'home.connected': 'Connected to {provider}',
  'home.unavailable': '{provider} is unavailable right now',
  'home.viewAccount': 'View your connection',
  'home.intro': 'Connecting lets this site act for you at {provider}. You can disconnect at any time.',
  'account.title': 'Your connections',
  'account.userId': 'User id',
  'account.scope': 'Scope',
  'account.accessExpires': 'Access token expires',
  'account.connectionEnds': 'Connection ends',
  'account.lastRefreshed': 'Last refreshed',
  'account.never': 'not yet',
  'account.unknown': 'unknown',
  'account.connectedAt': 'Connected',
  'account.disconnect': 'Disconnect',
  'account.notConnected': 'You are not connected to {provider}.',
  'account.ended': 'Your connection to {provider} has ended. Reconnect to continue.',
  'account.reconnect': 'Reconnect {provider}',
  'account.deferred': '{provider} could not be reached to renew access; we will try again shortly. Nothing is lost.',
  'account.balances': 'Spot balances',
  'account.balancesEmpty': 'No balances.',
  'account.balancesFailed': 'Balances could not be loaded from {provider} right now. Try again in a moment.',
  'account.balancesReconnect': 'Balances need a fresh connection. Reconnect {provider} to see them.',
  'account.currency': 'Currency',
  'account.available': 'Available',
  'account.frozen': 'Frozen',
  'account.live': 'Live from {provider} (this page\u2019s own script, through /api/xt)',
  'account.openOrders': 'Open orders',
  'account.openOrdersEmpty': 'No open orders.',
  'account.refreshBalances': 'Refresh balances',
  'account.loading': 'Loading\u2026',
  'account.updated': 'Updated',
  'account.symbol': 'Symbol',
  'account.side': 'Side',
  'account.price': 'Price',
  'account.quantity': 'Quantity',
  'account.name': 'Name',
  'account.email': 'Email',
  'account.subject': 'Subject',
  'nav.home': 'Home',
  'nav.account': 'Account',
  'error.title': 'Something went wrong',
  'error.retry': 'Try again',
  'error.reconnect': 'Reconnect',
  'error.home': 'Back to the home page',
  'error.login': 'Connect',
  'error.ref': 'Reference',
  'error.bad_request': 'That request could not be understood.',
  'error.payload_too_large': 'That request could not be understood.',
  'error.uri_too_long': 'That request could not be understood.',
  'error.callback_invalid': 'The answer from {provider} could not be used. Please start again.',
  'error.not_found': 'There is nothing here.',
  'error.csrf_failed': 'This form expired or came from another site. Reload the page and try again.',
  'error.not_allowed': 'This site does not allow that request to {provider}.',
  'error.method_not_allowed': 'That request could not be understood.',
  'error.unsupported_media_type': 'That request could not be understood.',
  'error.login_expired': 'This login link expired or came from elsewhere. Please start again.',
  'error.link_invalid': 'This link expired or was already used. Go back to the site you came from and start again.',
  'error.link_required': 'Connections start from your account on the site. Sign in there and use its connect button.',
  'error.unauthorized': 'A valid API key is required.',
  'error.login_denied': 'The connection was not approved at {provider}. You can try again whenever you like.',
  'error.provider_rejected': '{provider} refused the request. Please start again.',
  'error.provider_bad_response': '{provider} sent an answer we could not use. Please try again in a moment.',
  'error.provider_unavailable': '{provider} is not reachable right now. Your connection is kept; try again in a moment.',
  'error.provider_down': '{provider} is not reachable right now. Your connection is kept; try again in a moment.',
  'error.provider_timeout': '{provider} took too long to answer. Please try again.',
  'error.provider_misconfigured': 'This site\u2019s connection to {provider} is misconfigured. The operators have been told; please try again later.',
  'error.id_token_invalid': 'The identity sent by {provider} could not be verified, so nothing was connected. Please try again.',
  'error.reconnect_required': 'Your connection to {provider} has ended. Please reconnect.',
  'error.not_connected': 'You are not connected to {provider}.',
  'error.store_unavailable': 'Our session storage is not reachable right now. Nothing is lost; please try again in a moment.',
  'error.rate_limited': 'Too many requests in a short time. Please wait a moment and try again.',
  'error.internal': 'An unexpected error happened on our side. Please try again.',
  'time.local': 'shown in your local time',
};

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  'app.title': 'xt-connect',
  'app.tagline': '连接您的账户，令牌只保存在服务器上。',
  'home.connect': '连接 {provider}',
  'home.connected': '已连接 {provider}',
  'home.unavailable': '{provider} 暂时不可用',
  'home.viewAccount': '查看连接',
  'home.intro': '连接后，本网站可以代表您访问 {provider}。您可以随时断开连接。',
  'account.title': '您的连接',
  'account.userId': '用户 ID',
  'account.scope': '授权范围',
  'account.accessExpires': '访问令牌到期时间',
  'account.connectionEnds': '连接结束时间',
  'account.lastRefreshed': '上次刷新',
  'account.never': '尚未刷新',
  'account.unknown': '未知',
  'account.connectedAt': '连接时间',
  'account.disconnect': '断开连接',
  'account.notConnected': '您尚未连接 {provider}。',
  'account.ended': '您与 {provider} 的连接已结束，请重新连接。',
  'account.reconnect': '重新连接 {provider}',
  'account.deferred': '暂时无法连接 {provider} 以续期访问，我们稍后会重试，数据不会丢失。',
  'account.balances': '现货余额',
  'account.balancesEmpty': '暂无余额。',
  'account.balancesFailed': '暂时无法从 {provider} 读取余额，请稍后再试。',
  'account.balancesReconnect': '需要重新连接 {provider} 才能查看余额。',
  'account.currency': '币种',
  'account.available': '可用',
  'account.frozen': '冻结',
  'account.live': '来自 {provider} 的实时数据（由本页脚本通过 /api/xt 获取）',
  'account.openOrders': '当前委托',
  'account.openOrdersEmpty': '暂无当前委托。',
  'account.refreshBalances': '刷新余额',
  'account.loading': '加载中…',
  'account.updated': '已更新',
  'account.symbol': '交易对',
  'account.side': '方向',
  'account.price': '价格',
  'account.quantity': '数量',
  'account.name': '姓名',
  'account.email': '邮箱',
  'account.subject': '主体标识',
  'nav.home': '首页',
  'nav.account': '账户',
  'error.title': '出错了',
  'error.retry': '重试',
  'error.reconnect': '重新连接',
  'error.home': '返回首页',
  'error.login': '连接',
  'error.ref': '参考编号',
  'error.bad_request': '无法理解该请求。',
  'error.payload_too_large': '无法理解该请求。',
  'error.uri_too_long': '无法理解该请求。',
  'error.callback_invalid': '无法使用 {provider} 返回的应答，请重新开始。',
  'error.not_found': '页面不存在。',
  'error.csrf_failed': '表单已过期或来自其他网站。请刷新页面后重试。',
  'error.not_allowed': '本网站不允许向 {provider} 发出该请求。',
  'error.method_not_allowed': '无法理解该请求。',
  'error.unsupported_media_type': '无法理解该请求。',
  'error.login_expired': '登录链接已过期或来自其他地方，请重新开始。',
  'error.link_invalid': '此链接已过期或已被使用。请返回您来自的网站，重新开始。',
  'error.link_required': '连接需从您在该网站的账户开始。请先在该网站登录，再使用其中的连接按钮。',
  'error.unauthorized': '需要有效的 API 密钥。',
  'error.login_denied': '您未在 {provider} 批准连接。您可以随时重试。',
  'error.provider_rejected': '{provider} 拒绝了请求，请重新开始。',
  'error.provider_bad_response': '{provider} 返回了无法使用的应答，请稍后重试。',
  'error.provider_unavailable': '暂时无法连接 {provider}。您的连接已保留，请稍后重试。',
  'error.provider_down': '暂时无法连接 {provider}。您的连接已保留，请稍后重试。',
  'error.provider_timeout': '{provider} 响应超时，请重试。',
  'error.provider_misconfigured': '本网站与 {provider} 的对接配置有误，运维人员已收到通知，请稍后再试。',
  'error.id_token_invalid': '无法验证 {provider} 提供的身份信息，因此未建立连接。请重试。',
  'error.reconnect_required': '您与 {provider} 的连接已结束，请重新连接。',
  'error.not_connected': '您尚未连接 {provider}。',
  'error.store_unavailable': '会话存储暂时不可用，数据不会丢失，请稍后重试。',
  'error.rate_limited': '短时间内请求过多，请稍候再试。',
  'error.internal': '我们这边发生了意外错误，请重试。',
  'time.local': '以您的本地时间显示',
};

const catalogs: Record<Locale, Record<MessageKey, string>> = { en, zh };

export type Translate = (key: MessageKey, vars?: Record<string, string>) => string;

export function translator(locale: Locale): Translate {
  const cat = catalogs[locale];
  return (key, vars) => (cat[key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (m, k: string) => vars?.[k] ?? m);
}

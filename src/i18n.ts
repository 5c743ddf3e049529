/**
 * The three languages of the pages (English, Simplified Chinese, Traditional Chinese), the choice
 * between them (a `lang` cookie set from the language menu, else Accept-Language), and the
 * mapping from that choice to a provider's own list of page languages.
 */
export type Locale = 'en' | 'zh' | 'zh-Hant';

/** The page languages, in the language menu's order: the locale, its `lang` tag (also the cookie's value) and its own name. */
export const LANGUAGES: readonly { locale: Locale; tag: string; name: string }[] = [
  { locale: 'en', tag: 'en', name: 'English' },
  { locale: 'zh', tag: 'zh-CN', name: '简体中文' },
  { locale: 'zh-Hant', tag: 'zh-Hant', name: '繁體中文' },
];

/** The `lang` attribute of a page in `locale`. */
export const htmlLang = (locale: Locale): string => LANGUAGES.find((l) => l.locale === locale)!.tag;

/** The cookie that keeps a person's choice from the language menu. */
export const LANG_COOKIE = 'lang';

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

/** Whether a zh tag asks for Traditional characters: the Hant script, or Taiwan, Hong Kong or Macau without a script. */
function isTraditional(subtags: string[]): boolean {
  if (subtags.includes('hant')) return true;
  if (subtags.includes('hans')) return false;
  return subtags.some((r) => ['tw', 'hk', 'mo'].includes(r));
}

/** The page locale a single language tag asks for, if it is one of ours. */
export function localeOfTag(tag: string): Locale | undefined {
  const [primary, ...rest] = tag.toLowerCase().split('-');
  if (primary === 'en') return 'en';
  if (primary === 'zh') return isTraditional(rest) ? 'zh-Hant' : 'zh';
  return undefined;
}

export function pickLocale(header: string | undefined): Locale {
  for (const tag of preferredLanguages(header)) {
    const locale = localeOfTag(tag);
    if (locale) return locale;
  }
  return 'en';
}

/** The language chosen from the menu: the `lang` cookie, when it holds one of the menu's tags. */
export function chosenLocale(cookieHeader: string | undefined): Locale | undefined {
  if (!cookieHeader || cookieHeader.length > 8192) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== LANG_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return LANGUAGES.find((l) => l.tag === value)?.locale;
  }
  return undefined;
}

/** The person's language: the menu's `lang` cookie, else the best match of Accept-Language. */
export function requestLocale(cookieHeader: string | undefined, acceptLanguage: string | undefined): Locale {
  return chosenLocale(cookieHeader) ?? pickLocale(acceptLanguage);
}

/**
 * What to map onto a provider's languages: the menu choice's tag when there is one (it overrides
 * the browser), else the browser's Accept-Language.
 */
export function languagePreference(
  cookieHeader: string | undefined,
  acceptLanguage: string | undefined,
): string | undefined {
  const chosen = chosenLocale(cookieHeader);
  return chosen ? htmlLang(chosen) : acceptLanguage;
}

/**
 * The provider page language closest to the person's preference, or the list's first entry.
 * Chinese is split by script: zh-TW/zh-HK/zh-MO/zh-Hant → zh-HK (or zh-TW, zh-Hant), other zh → zh-CN (or zh-Hans).
 */
export function pickProviderLanguage(header: string | undefined, supported: readonly string[]): string {
  const fallback = supported[0] ?? 'en';
  const lower = new Map(supported.map((s) => [s.toLowerCase(), s]));
  for (const tag of preferredLanguages(header)) {
    const t = tag.toLowerCase();
    if (lower.has(t)) return lower.get(t)!;
    const [primary, ...rest] = t.split('-');
    if (primary === 'zh') {
      const wants = isTraditional(rest) ? ['zh-hk', 'zh-tw', 'zh-hant'] : ['zh-cn', 'zh-hans'];
      const hit = wants.find((w) => lower.has(w));
      if (hit) return lower.get(hit)!;
    }
    if (primary && lower.has(primary)) return lower.get(primary)!;
  }
  return fallback;
}

const en = {
  'app.title': 'xt-connect',
  'nav.skip': 'Skip to main content',
  'nav.main': 'Main',
  'nav.home': 'Home',
  'nav.account': 'Your connections',
  'nav.language': 'Language',
  'nav.backToSite': 'Back to {site}',
  'nav.support': 'Help and support',
  'home.titleOne': 'Connect your {provider} account',
  'home.titleMany': 'Connect your accounts',
  'home.titleConnectedOne': 'Your {provider} account is connected',
  'home.titleConnectedMany': 'Your accounts are connected',
  'home.leadConnected':
    '{site} uses your connection to work with your account. You can see it or disconnect at any time.',
  'home.lead': 'Connect an account you already have to use it with {site}. {site} never sees your password.',
  'home.connect': 'Connect {provider}',
  'home.connected': 'Connected to {provider}',
  'home.connectedAs': 'Connected as {slot}',
  'home.unavailable': '{provider} is unavailable right now. Please try again in a few minutes.',
  'home.viewAccount': 'See your connection',
  'home.gets': 'If you connect, {site} can:',
  'home.approveThere': 'You approve on {provider}\u2019s own page, and you can disconnect at any time.',
  'home.noAccount': 'No {provider} account?',
  'home.register': 'Create one',
  'grant.xtUserId': 'See your {provider} user id',
  'grant.balances': 'See your spot balances',
  'grant.orders': 'See your orders and trades',
  'grant.trade': 'Place and cancel orders for you',
  'grant.oidcId': 'Know who you are at {provider} (your user id)',
  'grant.profile': 'See your name and profile',
  'grant.email': 'See your email address',
  'grant.phone': 'See your phone number',
  'grant.address': 'See your postal address',
  'grant.offline': 'Stay connected while you are away',
  'grant.unknown': 'Use the access {provider} calls \u201c{scope}\u201d',
  'notice.connected': 'You\u2019re connected to {provider}.',
  'notice.disconnected':
    '{provider} is disconnected. {site} deleted its access to your {provider} account and can no longer see or do anything there.',
  'notice.revoked': '{site} also asked {provider} to withdraw the access, so it ends there too.',
  'notice.signedOut': 'You\u2019re also signed out at {provider}.',
  'notice.stillConnected':
    'You\u2019re still connected to {provider}. That approval had already been used, so nothing changed.',
  'notice.keptAfterDecline':
    'You didn\u2019t approve a new connection at {provider}, so your existing connection stays as it was.',
  'declined.title': 'No connection was made',
  'declined.body':
    'You chose not to approve the connection at {provider}, so nothing was shared with {site}. You can connect whenever you like.',
  'account.title': 'Your connections',
  'account.statusConnected': 'Connected',
  'account.statusEnded': 'Ended',
  'account.statusNotConnected': 'Not connected',
  'account.statusUnavailable': 'Unreachable',
  'account.connectedAs': 'Connected as {slot}',
  'account.since': 'Since {slot}',
  'account.staysUntil': 'Stays connected until {slot}',
  'account.staysWhileUsed': 'Stays connected while you use this site',
  'account.canDo': 'What {site} can do:',
  'account.details': 'Details',
  'account.userId': 'User id',
  'account.scope': 'Permissions granted',
  'account.accessExpires': 'Current access valid until',
  'account.lastRefreshed': 'Last renewed',
  'account.never': 'not yet',
  'account.unknown': 'unknown',
  'account.name': 'Name',
  'account.email': 'Email',
  'account.disconnect': 'Disconnect {provider}',
  'account.notConnected': 'You\u2019re not connected to {provider}.',
  'account.ended': 'Your connection to {provider} has ended.',
  'account.reconnect': 'Reconnect {provider}',
  'account.deferred': '{provider} could not be reached to renew access. We\u2019ll try again shortly; nothing is lost.',
  'account.unavailable': '{provider} is not reachable right now. Your connection is kept; try again in a few minutes.',
  'ended.refresh_rejected':
    '{provider} no longer accepts this connection, for example because you changed your password or removed {site}\u2019s access there. Connect again to continue.',
  'ended.refresh_expired':
    'Connections to {provider} last a limited time, and this one has reached its end. Connect again to continue.',
  'ended.access_expired':
    '{provider} did not let this connection renew itself, so it ended when its access ran out. Connect again to continue.',
  'ended.unreadable':
    '{site} could no longer read its saved connection, which happens when the site renews its security keys. Connect again to continue.',
  'account.balances': 'Spot balances',
  'account.balancesEmpty': 'No balances.',
  'account.balancesFailed': 'Balances could not be loaded from {provider} right now. Try again in a moment.',
  'account.balancesReconnect': 'Balances need a fresh connection. Reconnect {provider} to see them.',
  'account.currency': 'Currency',
  'account.available': 'Available',
  'account.frozen': 'Frozen',
  'account.live': 'Live from {provider}',
  'account.openOrders': 'Open orders',
  'account.openOrdersEmpty': 'No open orders.',
  'account.refreshBalances': 'Refresh balances',
  'account.loading': 'Loading\u2026',
  'account.updated': 'Updated',
  'account.symbol': 'Symbol',
  'account.side': 'Side',
  'account.price': 'Price',
  'account.quantity': 'Quantity',
  'time.local': 'Times are shown in your local time.',
  'error.title': 'Something went wrong',
  'error.titleNotFound': 'Page not found',
  'error.titleLinkInvalid': 'This link is not valid',
  'error.titleLinkExpired': 'This link has expired',
  'error.titleUnavailable': 'Temporarily unavailable',
  'error.titleMisconfigured': 'A problem on our side',
  'error.titleReconnect': 'Please connect again',
  'error.supportLead': 'Need help?',
  'error.support': 'Contact {site} support',
  'error.retry': 'Try again',
  'error.reconnect': 'Reconnect',
  'error.home': 'Back to the home page',
  'error.login': 'Connect',
  'error.ref': 'Reference: {ref}',
  'error.bad_request': 'That request could not be understood.',
  'error.payload_too_large': 'That request could not be understood.',
  'error.uri_too_long': 'That request could not be understood.',
  'error.callback_invalid': 'The answer from {provider} could not be used. Please start again.',
  'error.not_found': 'There is nothing here.',
  'error.csrf_failed': 'This form expired or came from another site. Reload the page and try again.',
  'error.not_allowed': 'This site does not allow that request to {provider}.',
  'error.method_not_allowed': 'That request could not be understood.',
  'error.unsupported_media_type': 'That request could not be understood.',
  'error.login_expired': 'This connection attempt expired or was started somewhere else. Please start again.',
  'error.link_invalid':
    'It may have been cut short when it was copied, or changed on the way. Go back to the site you came from and use its button again.',
  'error.link_expired': 'This link has expired or was already used. Go back to the site you came from and start again.',
  'error.link_required': 'Connections start from your account on the site. Sign in there and use its connect button.',
  'error.unauthorized': 'A valid API key is required.',
  'error.scope_missing': 'This API key may not make that call.',
  'error.login_denied': 'The connection was not approved at {provider}. You can connect whenever you like.',
  'error.provider_rejected': '{provider} refused the request. Please start again.',
  'error.provider_bad_response': '{provider} sent an answer we could not use. Please try again in a moment.',
  'error.provider_unavailable': '{provider} can\u2019t be reached right now. Please try again in a few minutes.',
  'error.provider_down': '{provider} can\u2019t be reached right now. Please try again in a few minutes.',
  'error.provider_timeout': '{provider} took too long to answer. Please try again.',
  'error.provider_misconfigured':
    'This site\u2019s connection to {provider} is misconfigured: a problem on our side, not with your account. We have been told; please try again later.',
  'error.id_token_invalid':
    'The identity sent by {provider} could not be verified, so nothing was connected. Please try again.',
  'error.reconnect_required': 'Your connection to {provider} has ended. Please connect again.',
  'error.not_connected': 'You\u2019re not connected to {provider}.',
  'error.store_unavailable': 'This site is having a brief problem. Nothing is lost; please try again in a moment.',
  'error.rate_limited': 'Too many requests in a short time. Please wait a moment and try again.',
  'error.internal': 'Something unexpected went wrong on our side. Please try again.',
};

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  'app.title': 'xt-connect',
  'nav.skip': '跳到主要内容',
  'nav.main': '主导航',
  'nav.home': '首页',
  'nav.account': '我的连接',
  'nav.language': '语言',
  'nav.backToSite': '返回 {site}',
  'nav.support': '帮助与支持',
  'home.titleOne': '连接您的 {provider} 账户',
  'home.titleMany': '连接您的账户',
  'home.titleConnectedOne': '您的 {provider} 账户已连接',
  'home.titleConnectedMany': '您的账户已连接',
  'home.leadConnected': '{site} 通过这个连接使用您的账户。您可以随时查看或断开连接。',
  'home.lead': '连接您已有的账户，即可在 {site} 使用。{site} 不会看到您的密码。',
  'home.connect': '连接 {provider}',
  'home.connected': '已连接 {provider}',
  'home.connectedAs': '已连接账户 {slot}',
  'home.unavailable': '{provider} 暂时无法使用，请过几分钟再试。',
  'home.viewAccount': '查看连接',
  'home.gets': '连接后，{site} 可以：',
  'home.approveThere': '您将在 {provider} 自己的页面上批准，并且可以随时断开连接。',
  'home.noAccount': '还没有 {provider} 账户？',
  'home.register': '立即注册',
  'grant.xtUserId': '查看您的 {provider} 用户 ID',
  'grant.balances': '查看您的现货余额',
  'grant.orders': '查看您的委托和成交记录',
  'grant.trade': '代您下单和撤单',
  'grant.oidcId': '识别您在 {provider} 的身份（用户 ID）',
  'grant.profile': '查看您的姓名和个人资料',
  'grant.email': '查看您的电子邮箱地址',
  'grant.phone': '查看您的手机号码',
  'grant.address': '查看您的通讯地址',
  'grant.offline': '在您离开时保持连接',
  'grant.unknown': '使用 {provider} 称为“{scope}”的权限',
  'notice.connected': '已连接 {provider}。',
  'notice.disconnected':
    '已断开与 {provider} 的连接。{site} 已删除对您 {provider} 账户的访问授权，今后无法再查看或操作该账户。',
  'notice.revoked': '{site} 也已请求 {provider} 撤销这项授权。',
  'notice.signedOut': '您在 {provider} 也已退出登录。',
  'notice.stillConnected': '您仍然连接着 {provider}。该批准已经使用过，因此没有任何变化。',
  'notice.keptAfterDecline': '您没有在 {provider} 批准新的连接，现有连接保持不变。',
  'declined.title': '未建立连接',
  'declined.body': '您没有在 {provider} 批准连接，因此没有任何信息分享给 {site}。您可以随时再连接。',
  'account.title': '您的连接',
  'account.statusConnected': '已连接',
  'account.statusEnded': '已结束',
  'account.statusNotConnected': '未连接',
  'account.statusUnavailable': '暂时无法访问',
  'account.connectedAs': '已连接账户 {slot}',
  'account.since': '连接于 {slot}',
  'account.staysUntil': '连接将保持到 {slot}',
  'account.staysWhileUsed': '只要您继续使用本网站，连接就会保持',
  'account.canDo': '{site} 可以：',
  'account.details': '详细信息',
  'account.userId': '用户 ID',
  'account.scope': '已授予的权限',
  'account.accessExpires': '当前授权有效至',
  'account.lastRefreshed': '上次续期',
  'account.never': '尚未续期',
  'account.unknown': '未知',
  'account.name': '姓名',
  'account.email': '邮箱',
  'account.disconnect': '断开与 {provider} 的连接',
  'account.notConnected': '您尚未连接 {provider}。',
  'account.ended': '您与 {provider} 的连接已结束。',
  'account.reconnect': '重新连接 {provider}',
  'account.deferred': '暂时无法连接 {provider} 以续期授权。我们稍后会重试，不会丢失任何内容。',
  'account.unavailable': '暂时无法访问 {provider}。您的连接仍然保留，请过几分钟再试。',
  'ended.refresh_rejected':
    '{provider} 已不再接受此连接，例如您修改了密码，或在 {provider} 取消了 {site} 的授权。请重新连接以继续使用。',
  'ended.refresh_expired': '与 {provider} 的连接有时间限制，这次连接已经到期。请重新连接以继续使用。',
  'ended.access_expired': '{provider} 未允许此连接自动续期，因此授权到期后连接就结束了。请重新连接以继续使用。',
  'ended.unreadable': '{site} 无法再读取已保存的连接，网站更新安全设置时会出现这种情况。请重新连接以继续使用。',
  'account.balances': '现货余额',
  'account.balancesEmpty': '暂无余额。',
  'account.balancesFailed': '暂时无法从 {provider} 读取余额，请稍后再试。',
  'account.balancesReconnect': '需要重新连接 {provider} 才能查看余额。',
  'account.currency': '币种',
  'account.available': '可用',
  'account.frozen': '冻结',
  'account.live': '来自 {provider} 的实时数据',
  'account.openOrders': '当前委托',
  'account.openOrdersEmpty': '暂无当前委托。',
  'account.refreshBalances': '刷新余额',
  'account.loading': '加载中…',
  'account.updated': '已更新',
  'account.symbol': '交易对',
  'account.side': '方向',
  'account.price': '价格',
  'account.quantity': '数量',
  'time.local': '时间以您的本地时间显示。',
  'error.title': '出错了',
  'error.titleNotFound': '找不到页面',
  'error.titleLinkInvalid': '链接无效',
  'error.titleLinkExpired': '链接已过期',
  'error.titleUnavailable': '暂时无法使用',
  'error.titleMisconfigured': '我们这边出了问题',
  'error.titleReconnect': '请重新连接',
  'error.supportLead': '需要帮助？',
  'error.support': '联系 {site} 客服',
  'error.retry': '重试',
  'error.reconnect': '重新连接',
  'error.home': '返回首页',
  'error.login': '连接',
  'error.ref': '参考编号：{ref}',
  'error.bad_request': '无法理解该请求。',
  'error.payload_too_large': '无法理解该请求。',
  'error.uri_too_long': '无法理解该请求。',
  'error.callback_invalid': '无法使用 {provider} 返回的应答，请重新开始。',
  'error.not_found': '页面不存在。',
  'error.csrf_failed': '表单已过期或来自其他网站。请刷新页面后重试。',
  'error.not_allowed': '本网站不允许向 {provider} 发出该请求。',
  'error.method_not_allowed': '无法理解该请求。',
  'error.unsupported_media_type': '无法理解该请求。',
  'error.login_expired': '这次连接请求已过期，或是在别处发起的。请重新开始。',
  'error.link_invalid': '链接可能在复制时不完整，或在传递途中被改动。请返回您来自的网站，再点一次那里的按钮。',
  'error.link_expired': '此链接已过期或已被使用。请返回您来自的网站，重新开始。',
  'error.link_required': '连接需从您在该网站的账户开始。请先在该网站登录，再使用其中的连接按钮。',
  'error.unauthorized': '需要有效的 API 密钥。',
  'error.scope_missing': '该 API 密钥无权进行此调用。',
  'error.login_denied': '您没有在 {provider} 批准连接。您可以随时再连接。',
  'error.provider_rejected': '{provider} 拒绝了请求，请重新开始。',
  'error.provider_bad_response': '{provider} 返回了无法使用的应答，请稍后重试。',
  'error.provider_unavailable': '暂时无法访问 {provider}，请过几分钟再试。',
  'error.provider_down': '暂时无法访问 {provider}，请过几分钟再试。',
  'error.provider_timeout': '{provider} 响应超时，请重试。',
  'error.provider_misconfigured':
    '本网站与 {provider} 的对接配置有误，这是我们这边的问题，与您的账户无关。我们已收到通知，请稍后再试。',
  'error.id_token_invalid': '无法验证 {provider} 提供的身份信息，因此未建立连接。请重试。',
  'error.reconnect_required': '您与 {provider} 的连接已结束，请重新连接。',
  'error.not_connected': '您尚未连接 {provider}。',
  'error.store_unavailable': '本网站暂时出现问题，不会丢失任何内容，请稍后重试。',
  'error.rate_limited': '短时间内请求过多，请稍候再试。',
  'error.internal': '我们这边发生了意外错误，请重试。',
};

const zhHant: Record<MessageKey, string> = {
  'app.title': 'xt-connect',
  'nav.skip': '跳到主要內容',
  'nav.main': '主導覽',
  'nav.home': '首頁',
  'nav.account': '我的連接',
  'nav.language': '語言',
  'nav.backToSite': '返回 {site}',
  'nav.support': '幫助與支援',
  'home.titleOne': '連接您的 {provider} 帳戶',
  'home.titleMany': '連接您的帳戶',
  'home.titleConnectedOne': '您的 {provider} 帳戶已連接',
  'home.titleConnectedMany': '您的帳戶已連接',
  'home.leadConnected': '{site} 透過這個連接使用您的帳戶。您可以隨時查看或中斷連接。',
  'home.lead': '連接您已有的帳戶，即可在 {site} 使用。{site} 不會看到您的密碼。',
  'home.connect': '連接 {provider}',
  'home.connected': '已連接 {provider}',
  'home.connectedAs': '已連接帳戶 {slot}',
  'home.unavailable': '{provider} 暫時無法使用，請過幾分鐘再試。',
  'home.viewAccount': '查看連接',
  'home.gets': '連接後，{site} 可以：',
  'home.approveThere': '您將在 {provider} 自己的頁面上批准，並且可以隨時中斷連接。',
  'home.noAccount': '還沒有 {provider} 帳戶？',
  'home.register': '立即註冊',
  'grant.xtUserId': '查看您的 {provider} 用戶 ID',
  'grant.balances': '查看您的現貨餘額',
  'grant.orders': '查看您的委託和成交紀錄',
  'grant.trade': '代您下單和撤單',
  'grant.oidcId': '識別您在 {provider} 的身分（用戶 ID）',
  'grant.profile': '查看您的姓名和個人資料',
  'grant.email': '查看您的電子郵件地址',
  'grant.phone': '查看您的手機號碼',
  'grant.address': '查看您的通訊地址',
  'grant.offline': '在您離開時保持連接',
  'grant.unknown': '使用 {provider} 稱為「{scope}」的權限',
  'notice.connected': '已連接 {provider}。',
  'notice.disconnected':
    '已中斷與 {provider} 的連接。{site} 已刪除對您 {provider} 帳戶的存取授權，今後無法再查看或操作該帳戶。',
  'notice.revoked': '{site} 也已請求 {provider} 撤銷這項授權。',
  'notice.signedOut': '您在 {provider} 也已登出。',
  'notice.stillConnected': '您仍然連接著 {provider}。該批准已經使用過，因此沒有任何變化。',
  'notice.keptAfterDecline': '您沒有在 {provider} 批准新的連接，現有連接保持不變。',
  'declined.title': '未建立連接',
  'declined.body': '您沒有在 {provider} 批准連接，因此沒有任何資訊分享給 {site}。您可以隨時再連接。',
  'account.title': '您的連接',
  'account.statusConnected': '已連接',
  'account.statusEnded': '已結束',
  'account.statusNotConnected': '未連接',
  'account.statusUnavailable': '暫時無法存取',
  'account.connectedAs': '已連接帳戶 {slot}',
  'account.since': '連接於 {slot}',
  'account.staysUntil': '連接將保持到 {slot}',
  'account.staysWhileUsed': '只要您繼續使用本網站，連接就會保持',
  'account.canDo': '{site} 可以：',
  'account.details': '詳細資訊',
  'account.userId': '用戶 ID',
  'account.scope': '已授予的權限',
  'account.accessExpires': '當前授權有效至',
  'account.lastRefreshed': '上次續期',
  'account.never': '尚未續期',
  'account.unknown': '未知',
  'account.name': '姓名',
  'account.email': '電子郵件',
  'account.disconnect': '中斷與 {provider} 的連接',
  'account.notConnected': '您尚未連接 {provider}。',
  'account.ended': '您與 {provider} 的連接已結束。',
  'account.reconnect': '重新連接 {provider}',
  'account.deferred': '暫時無法連接 {provider} 以續期授權。我們稍後會重試，不會遺失任何內容。',
  'account.unavailable': '暫時無法存取 {provider}。您的連接仍然保留，請過幾分鐘再試。',
  'ended.refresh_rejected':
    '{provider} 已不再接受此連接，例如您修改了密碼，或在 {provider} 取消了 {site} 的授權。請重新連接以繼續使用。',
  'ended.refresh_expired': '與 {provider} 的連接有時間限制，這次連接已經到期。請重新連接以繼續使用。',
  'ended.access_expired': '{provider} 未允許此連接自動續期，因此授權到期後連接就結束了。請重新連接以繼續使用。',
  'ended.unreadable': '{site} 無法再讀取已儲存的連接，網站更新安全設定時會出現這種情況。請重新連接以繼續使用。',
  'account.balances': '現貨餘額',
  'account.balancesEmpty': '暫無餘額。',
  'account.balancesFailed': '暫時無法從 {provider} 讀取餘額，請稍後再試。',
  'account.balancesReconnect': '需要重新連接 {provider} 才能查看餘額。',
  'account.currency': '幣種',
  'account.available': '可用',
  'account.frozen': '凍結',
  'account.live': '來自 {provider} 的即時資料',
  'account.openOrders': '當前委託',
  'account.openOrdersEmpty': '暫無當前委託。',
  'account.refreshBalances': '重新整理餘額',
  'account.loading': '載入中…',
  'account.updated': '已更新',
  'account.symbol': '交易對',
  'account.side': '方向',
  'account.price': '價格',
  'account.quantity': '數量',
  'time.local': '時間以您的本地時間顯示。',
  'error.title': '出錯了',
  'error.titleNotFound': '找不到頁面',
  'error.titleLinkInvalid': '連結無效',
  'error.titleLinkExpired': '連結已過期',
  'error.titleUnavailable': '暫時無法使用',
  'error.titleMisconfigured': '我們這邊出了問題',
  'error.titleReconnect': '請重新連接',
  'error.supportLead': '需要幫助？',
  'error.support': '聯絡 {site} 客服',
  'error.retry': '重試',
  'error.reconnect': '重新連接',
  'error.home': '返回首頁',
  'error.login': '連接',
  'error.ref': '參考編號：{ref}',
  'error.bad_request': '無法理解該請求。',
  'error.payload_too_large': '無法理解該請求。',
  'error.uri_too_long': '無法理解該請求。',
  'error.callback_invalid': '無法使用 {provider} 返回的應答，請重新開始。',
  'error.not_found': '頁面不存在。',
  'error.csrf_failed': '表單已過期或來自其他網站。請重新整理頁面後再試。',
  'error.not_allowed': '本網站不允許向 {provider} 發出該請求。',
  'error.method_not_allowed': '無法理解該請求。',
  'error.unsupported_media_type': '無法理解該請求。',
  'error.login_expired': '這次連接請求已過期，或是在別處發起的。請重新開始。',
  'error.link_invalid': '連結可能在複製時不完整，或在傳遞途中被更改。請返回您來自的網站，再按一次那裡的按鈕。',
  'error.link_expired': '此連結已過期或已被使用。請返回您來自的網站，重新開始。',
  'error.link_required': '連接需從您在該網站的帳戶開始。請先在該網站登入，再使用其中的連接按鈕。',
  'error.unauthorized': '需要有效的 API 金鑰。',
  'error.scope_missing': '該 API 金鑰無權進行此呼叫。',
  'error.login_denied': '您沒有在 {provider} 批准連接。您可以隨時再連接。',
  'error.provider_rejected': '{provider} 拒絕了請求，請重新開始。',
  'error.provider_bad_response': '{provider} 返回了無法使用的應答，請稍後重試。',
  'error.provider_unavailable': '暫時無法存取 {provider}，請過幾分鐘再試。',
  'error.provider_down': '暫時無法存取 {provider}，請過幾分鐘再試。',
  'error.provider_timeout': '{provider} 回應逾時，請重試。',
  'error.provider_misconfigured':
    '本網站與 {provider} 的對接設定有誤，這是我們這邊的問題，與您的帳戶無關。我們已收到通知，請稍後再試。',
  'error.id_token_invalid': '無法驗證 {provider} 提供的身分資訊，因此未建立連接。請重試。',
  'error.reconnect_required': '您與 {provider} 的連接已結束，請重新連接。',
  'error.not_connected': '您尚未連接 {provider}。',
  'error.store_unavailable': '本網站暫時出現問題，不會遺失任何內容，請稍後重試。',
  'error.rate_limited': '短時間內請求過多，請稍候再試。',
  'error.internal': '我們這邊發生了意外錯誤，請重試。',
};

/** Every catalog, by locale (the unit tests walk them). */
export const CATALOGS: Readonly<Record<Locale, Readonly<Record<MessageKey, string>>>> = { en, zh, 'zh-Hant': zhHant };

export type Translate = (key: MessageKey, vars?: Record<string, string>) => string;

/** A translator for `locale`; `defaults` fill the placeholders a call leaves out (the site's name, say). */
export function translator(locale: Locale, defaults: Record<string, string> = {}): Translate {
  const cat = CATALOGS[locale];
  return (key, vars) =>
    (cat[key] ?? en[key] ?? key).replace(/\{(\w+)\}/g, (m, k: string) => vars?.[k] ?? defaults[k] ?? m);
}

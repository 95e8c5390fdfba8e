// The portal's own English and Simplified Chinese texts (separate from the dashboard's catalog, so
// the end-user page ships only what it shows). A message missing in one language is a type error.

const en = {
  'title': 'My subscription',
  'language': '中文',
  'loading': 'Loading…',
  'error': 'Could not load your subscription. Check your connection and try again.',
  'retry': 'Try again',
  'invalid.title': 'This link is not valid',
  'invalid.body': 'Ask your provider for a new link.',
  'status': 'Status',
  'status.active': 'Active',
  'status.suspended': 'Suspended',
  'status.expired': 'Expired',
  'status.inactive': 'Inactive',
  'reason.disabled': 'Your account is disabled.',
  'reason.no_plan': 'You have no active plan.',
  'reason.suspended_quota': 'Your traffic quota is used up.',
  'reason.suspended': 'Your subscription is suspended.',
  'reason.expired': 'Your subscription has expired.',
  'reason.no_node': 'No server is available right now. Please try again later.',
  'usage': 'Traffic',
  'usage.of': '{used} of {total}',
  'usage.unlimited': '{used} used · no limit',
  'usage.left': '{left} left',
  'expiry': 'Expires',
  'expiry.never': 'Never',
  'expiry.inDays': 'in {days} days',
  'expiry.today': 'today',
  'expiry.past': 'expired',
  'qr.title': 'Scan to import',
  'qr.alt': 'QR code of the subscription link',
  'sub.url': 'Subscription link',
  'copy': 'Copy',
  'copy.url': 'Copy link',
  'copied': 'Copied',
  'copy.failed': 'Copy failed — select the link and copy it by hand',
  'clients.title': 'Add to your app',
  'clients.import': 'Import',
  'clients.singbox': 'sing-box (SFA, SFI, SFM)',
  'clients.clash': 'Clash Meta / Clash Verge / FlClash',
  'clients.shadowrocket': 'Shadowrocket',
  'clients.v2rayn': 'v2rayN / v2rayNG',
  'clients.hint': 'Copy the link, then add it as a subscription in the app.',
  'links.title': 'Servers',
  'links.empty': 'No servers right now.',
  'links.qr': 'QR',
  'links.hide': 'Hide',
  'history.title': 'Traffic per day',
  'history.total': '{total} in the last {days} days (days in {zone})',
  'history.servers': 'By server',
  'history.failed': 'Could not load your traffic history.',
};

type Messages = typeof en;
export type PortalMessage = keyof Messages;
export type PortalLocale = 'en' | 'zh-CN';

const zh: Messages = {
  'title': '我的订阅',
  'language': 'English',
  'loading': '加载中…',
  'error': '无法加载订阅信息，请检查网络后重试。',
  'retry': '重试',
  'invalid.title': '此链接无效',
  'invalid.body': '请向服务提供方索取新的链接。',
  'status': '状态',
  'status.active': '正常',
  'status.suspended': '已暂停',
  'status.expired': '已过期',
  'status.inactive': '未启用',
  'reason.disabled': '账户已被停用。',
  'reason.no_plan': '当前没有生效的套餐。',
  'reason.suspended_quota': '流量已用完。',
  'reason.suspended': '订阅已暂停。',
  'reason.expired': '订阅已过期。',
  'reason.no_node': '暂时没有可用的服务器，请稍后再试。',
  'usage': '流量',
  'usage.of': '已用 {used} / 共 {total}',
  'usage.unlimited': '已用 {used} · 不限量',
  'usage.left': '剩余 {left}',
  'expiry': '到期时间',
  'expiry.never': '永不过期',
  'expiry.inDays': '{days} 天后',
  'expiry.today': '今天',
  'expiry.past': '已过期',
  'qr.title': '扫码导入',
  'qr.alt': '订阅链接二维码',
  'sub.url': '订阅链接',
  'copy': '复制',
  'copy.url': '复制链接',
  'copied': '已复制',
  'copy.failed': '复制失败，请手动选择链接复制',
  'clients.title': '添加到客户端',
  'clients.import': '一键导入',
  'clients.singbox': 'sing-box（SFA、SFI、SFM）',
  'clients.clash': 'Clash Meta / Clash Verge / FlClash',
  'clients.shadowrocket': 'Shadowrocket（小火箭）',
  'clients.v2rayn': 'v2rayN / v2rayNG',
  'clients.hint': '复制链接后，在客户端中添加为订阅。',
  'links.title': '服务器',
  'links.empty': '暂无服务器。',
  'links.qr': '二维码',
  'links.hide': '收起',
  'history.title': '每日流量',
  'history.total': '近 {days} 天共 {total}（按 {zone} 时区计日）',
  'history.servers': '按服务器',
  'history.failed': '无法加载流量记录。',
};

const CATALOGS: Record<PortalLocale, Messages> = { en, 'zh-CN': zh };
const STORAGE_KEY = 'boxfleet.portal.locale';

/** The stored choice, else Chinese for any zh browser language, else English. */
export function initialLocale(): PortalLocale {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'en' || stored === 'zh-CN') return stored;
  } catch {
    // Storage can be off (private mode); the browser language decides then.
  }
  return (navigator.languages ?? [navigator.language]).find((l) => /^(en|zh)/i.test(l))?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function storeLocale(locale: PortalLocale): void {
  try {
    localStorage.setItem(STORAGE_KEY, locale);
  } catch {
    // Not remembered; nothing else depends on it.
  }
}

/** The message in that language, with {name} placeholders filled in. */
export function msg(locale: PortalLocale, key: PortalMessage, params: Record<string, string | number> = {}): string {
  return CATALOGS[locale][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** Why the user is not served, in that language, from the hub's status code; a code this page does not know in the hub's English. */
export function reasonText(locale: PortalLocale, status: string, statusText: string): string {
  const key = `reason.${status}`;
  return key in en ? msg(locale, key as PortalMessage) : statusText;
}

export function formatBytes(locale: PortalLocale, bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}

export function formatDate(locale: PortalLocale, unixSeconds: number): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'long' }).format(new Date(unixSeconds * 1000));
}

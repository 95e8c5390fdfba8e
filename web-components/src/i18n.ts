// English and Simplified Chinese. A message missing in one language is a build-time type error.

const en = {
  'app.title': 'boxfleet',
  'app.signOut': 'Sign out',
  'app.language': '中文',
  'login.title': 'Sign in',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'nodes.title': 'Nodes',
  'nodes.empty': 'No nodes yet. Run `boxfleet agent init` on a node and paste its enrollment string here.',
  'nodes.online': 'online',
  'nodes.offline': 'offline',
  'nodes.tags': 'Tags',
  'nodes.address': 'Address',
  'nodes.plugins': 'Plugins',
  'nodes.enroll': 'Add node',
  'nodes.enrollment': 'Enrollment string',
  'common.loading': 'Loading…',
  'common.retry': 'Retry',
};

type Messages = typeof en;
export type MessageKey = keyof Messages;

const zh: Messages = {
  'app.title': 'boxfleet',
  'app.signOut': '退出登录',
  'app.language': 'English',
  'login.title': '登录',
  'login.username': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'nodes.title': '节点',
  'nodes.empty': '还没有节点。在节点上运行 `boxfleet agent init`，把输出的接入字符串粘贴到这里。',
  'nodes.online': '在线',
  'nodes.offline': '离线',
  'nodes.tags': '标签',
  'nodes.address': '地址',
  'nodes.plugins': '插件',
  'nodes.enroll': '添加节点',
  'nodes.enrollment': '接入字符串',
  'common.loading': '加载中…',
  'common.retry': '重试',
};

export type Locale = 'en' | 'zh-CN';
const CATALOGS: Record<Locale, Messages> = { en, 'zh-CN': zh };
const LOCALE_KEY = 'boxfleet.locale';

let locale: Locale = (localStorage.getItem(LOCALE_KEY) as Locale | null) ?? (navigator.language.startsWith('zh') ? 'zh-CN' : 'en');

export const LOCALE_CHANGED = 'bf-locale-changed';

export function t(key: MessageKey): string {
  return CATALOGS[locale][key];
}

export function currentLocale(): Locale {
  return locale;
}

export function setLocale(next: Locale): void {
  locale = next;
  localStorage.setItem(LOCALE_KEY, next);
  document.documentElement.lang = next;
  window.dispatchEvent(new Event(LOCALE_CHANGED));
}

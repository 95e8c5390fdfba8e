// <bf-app>: the shell — sign-in gate, header with language switch and sign-out, a nav limited to
// what the admin's role may use, and the screen for the current #/route (loaded on first use).
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../agent-core/common/roles.js';
import { currentAdmin, logOut, type Admin } from './data/auth.js';
import { session, SESSION_ENDED } from './data/http.js';
import { currentLocale, setLocale, t, type MessageKey } from './i18n.js';
import { LocalizedElement } from './ui/localized-element.js';
import type { SignedInEvent } from './ui/events.js';

type Screen = 'overview' | 'nodes' | 'node' | 'config' | 'users' | 'plans' | 'subscriptions' | 'audit' | 'admins';

/** Each screen's element, loaded as its own chunk the first time it is shown. */
const LOADERS: Record<Screen, () => Promise<unknown>> = {
  overview: () => import('./screens/bf-overview.js'),
  nodes: () => import('./screens/bf-nodes.js'),
  node: () => import('./screens/bf-node-detail.js'),
  config: () => import('./screens/bf-config-editor.js'),
  users: () => import('./screens/bf-users.js'),
  plans: () => import('./screens/bf-plans.js'),
  subscriptions: () => import('./screens/bf-subscriptions.js'),
  audit: () => import('./screens/bf-audit.js'),
  admins: () => import('./screens/bf-admins.js'),
};

/** The nav, in order, with the least role that may open each screen (the API enforces the same). */
const NAV: { screen: Screen; label: MessageKey; role: Role }[] = [
  { screen: 'overview', label: 'nav.overview', role: 'viewer' },
  { screen: 'nodes', label: 'nav.nodes', role: 'viewer' },
  { screen: 'users', label: 'nav.users', role: 'viewer' },
  { screen: 'plans', label: 'nav.plans', role: 'viewer' },
  { screen: 'subscriptions', label: 'nav.subscriptions', role: 'viewer' },
  { screen: 'audit', label: 'nav.audit', role: 'admin' },
  { screen: 'admins', label: 'nav.admins', role: 'owner' },
];

interface Route {
  screen: Screen;
  param: string;
}

/**
 * `#/nodes/web-1` → node web-1, `#/nodes/web-1/config` → its config editor, `#/users/7` → the users
 * with user 7 open; anything unknown → the overview.
 */
function parseRoute(hash: string): Route {
  const [name = '', param = '', sub = ''] = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (name === 'nodes' && param) return { screen: sub === 'config' ? 'config' : 'node', param };
  if (name === 'users') return { screen: 'users', param };
  if (name in LOADERS && name !== 'node' && name !== 'config') return { screen: name as Screen, param: '' };
  return { screen: 'overview', param: '' };
}

export class BfApp extends LocalizedElement {
  static override properties = { admin: { state: true }, checking: { state: true }, route: { state: true }, loaded: { state: true } };
  admin: Admin | null = null;
  checking = true;
  route: Route = parseRoute(location.hash);
  /** The screen whose chunk has loaded, so a screen never renders as an unknown element. */
  loaded: Screen | null = null;

  static override styles = css`
    header { display: flex; align-items: center; gap: 8px 12px; padding: 10px 16px; background: #1d2330; color: #fff; flex-wrap: wrap; }
    header h1 { font-size: 18px; margin: 0; flex: 1; }
    header button { background: transparent; color: #fff; border: 1px solid #566; border-radius: 4px; padding: 4px 10px; cursor: pointer; font: inherit; font-size: 14px; }
    nav { display: flex; gap: 4px; padding: 0 16px; background: #fff; border-bottom: 1px solid #e4e6eb; overflow-x: auto; }
    nav a { padding: 10px 10px; color: #4a5263; text-decoration: none; white-space: nowrap; border-bottom: 2px solid transparent; font-size: 14px; }
    nav a[aria-current='page'] { color: #2456d3; border-bottom-color: #2456d3; }
    main { padding: 16px; max-width: 1200px; margin: 0 auto; box-sizing: border-box; }
    .who { font-size: 13px; opacity: 0.8; }
    @media (max-width: 600px) { main { padding: 12px 8px; } }
  `;

  private readonly onHashChange = () => void this.show(parseRoute(location.hash));
  /** The hub refused the token: back to sign-in, staying on the same address. */
  private readonly onSessionEnded = () => {
    if (this.admin) this.onSignOut();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHashChange);
    window.addEventListener(SESSION_ENDED, this.onSessionEnded);
    document.documentElement.lang = currentLocale();
    void this.restore();
  }

  override disconnectedCallback(): void {
    window.removeEventListener('hashchange', this.onHashChange);
    window.removeEventListener(SESSION_ENDED, this.onSessionEnded);
    super.disconnectedCallback();
  }

  /** Picks up a stored session if it is still valid; without one, goes straight to sign-in. */
  private async restore() {
    try {
      this.admin = session() ? await currentAdmin() : null;
    } catch {
      this.admin = null;
    }
    this.checking = false;
    if (this.admin) await this.show(this.route);
    else await import('./screens/bf-login.js');
  }

  /** Loads the route's screen, falling back to the overview for one the role may not open. */
  private async show(route: Route) {
    const entry = NAV.find((n) => n.screen === route.screen);
    const allowed = !entry || !this.admin || may(this.admin.role, entry.role);
    this.route = allowed ? route : { screen: 'overview', param: '' };
    if (!this.admin) return;
    await LOADERS[this.route.screen]();
    this.loaded = this.route.screen;
  }

  private async onSignedIn(event: SignedInEvent) {
    this.admin = event.detail;
    await this.show(parseRoute(location.hash));
  }

  private async onSignOut() {
    await logOut();
    this.admin = null;
    this.loaded = null;
    void import('./screens/bf-login.js');
  }

  private screen(admin: Admin) {
    if (this.loaded !== this.route.screen) return html`<p>${t('common.loading')}</p>`;
    switch (this.route.screen) {
      case 'overview':
        return html`<bf-overview></bf-overview>`;
      case 'nodes':
        return html`<bf-nodes .adminRole=${admin.role}></bf-nodes>`;
      case 'node':
        return html`<bf-node-detail .nodeId=${this.route.param} .adminRole=${admin.role}></bf-node-detail>`;
      case 'config':
        return html`<bf-config-editor .nodeId=${this.route.param} .adminRole=${admin.role}></bf-config-editor>`;
      case 'users':
        return html`<bf-users .adminRole=${admin.role} .selected=${Number(this.route.param) || null}></bf-users>`;
      case 'plans':
        return html`<bf-plans .adminRole=${admin.role}></bf-plans>`;
      case 'subscriptions':
        return html`<bf-subscriptions></bf-subscriptions>`;
      case 'audit':
        return html`<bf-audit></bf-audit>`;
      case 'admins':
        return html`<bf-admins .me=${admin}></bf-admins>`;
    }
  }

  override render() {
    const admin = this.admin;
    const current = this.route.screen === 'node' || this.route.screen === 'config' ? 'nodes' : this.route.screen;
    return html`
      <header>
        <h1>${t('app.title')}</h1>
        ${admin ? html`<span class="who">${admin.username} · ${admin.role}</span>` : nothing}
        <button id="language" @click=${() => setLocale(currentLocale() === 'en' ? 'zh-CN' : 'en')}>${t('app.language')}</button>
        ${admin ? html`<button id="sign-out" @click=${this.onSignOut}>${t('app.signOut')}</button>` : nothing}
      </header>
      ${admin
        ? html`<nav aria-label=${t('nav.label')}>
            ${NAV.filter((n) => may(admin.role, n.role)).map(
              (n) => html`<a href="#/${n.screen}" aria-current=${n.screen === current ? 'page' : 'false'}>${t(n.label)}</a>`,
            )}
          </nav>`
        : nothing}
      <main>
        ${this.checking
          ? html`<p>${t('common.loading')}</p>`
          : admin
            ? this.screen(admin)
            : html`<bf-login @bf-signed-in=${this.onSignedIn}></bf-login>`}
      </main>
    `;
  }
}

customElements.define('bf-app', BfApp);

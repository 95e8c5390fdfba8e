// <bf-app>: the shell — sign-in gate, header with language and dark-mode switches and sign-out, a nav limited to
// what the admin's role may use, and the screen for the current #/route (loaded on first use); nav
// and routes come from screens/registry.ts.
import { css, html, nothing } from 'lit';
import { may } from '../../agent-core/common/roles.js';
import { currentAdmin, logOut, type Admin } from './data/auth.js';
import { session, SESSION_ENDED } from './data/http.js';
import { currentLocale, setLocale, t } from './i18n.js';
import { SCREENS, type Screen } from './screens/registry.js';
import { parseRoute, type Route } from './screens/route.js';
import { LocalizedElement } from './ui/localized-element.js';
import { focusRing } from './ui/shared-styles.js';
import { currentTheme, setTheme, THEME_CHANGED } from './ui/theme.js';
import type { SignedInEvent } from './ui/events.js';

/** The nav tab a screen belongs to: its path's first segment (a node's config editor: Nodes). */
const section = (screen: Screen) => screen.path.split('/')[0];

const routeOf = (hash: string) => parseRoute(hash, SCREENS);

export class BfApp extends LocalizedElement {
  static override properties = { admin: { state: true }, checking: { state: true }, route: { state: true }, loaded: { state: true } };
  admin: Admin | null = null;
  checking = true;
  route: Route<Screen> = routeOf(location.hash);
  /** The screen whose chunk has loaded, so a screen never renders as an unknown element. */
  loaded: Screen | null = null;

  static override styles = [focusRing, css`
    header { display: flex; align-items: center; gap: 8px 12px; padding: 10px 16px; background: var(--bf-header); color: var(--bf-on-header); flex-wrap: wrap; }
    header h1 { font-size: 18px; margin: 0; flex: 1; }
    header button { background: transparent; color: var(--bf-on-header); border: 1px solid var(--bf-header-border); border-radius: 4px; padding: 4px 10px; cursor: pointer; font: inherit; font-size: 14px; }
    nav { display: flex; gap: 4px; padding: 0 16px; background: var(--bf-surface); border-bottom: 1px solid var(--bf-border); overflow-x: auto; }
    nav a { padding: 10px 10px; color: var(--bf-strong-muted); text-decoration: none; white-space: nowrap; border-bottom: 2px solid transparent; font-size: 14px; }
    nav a[aria-current='page'] { color: var(--bf-accent); border-bottom-color: var(--bf-accent); }
    main { padding: 16px; max-width: 1200px; margin: 0 auto; box-sizing: border-box; }
    .who { font-size: 13px; opacity: 0.8; }
    header :focus-visible { outline-color: var(--bf-on-header); }
    @media (max-width: 600px) { main { padding: 12px 8px; } }
  `];

  private readonly onHashChange = () => void this.show(routeOf(location.hash));
  private readonly onThemeChanged = () => this.requestUpdate();
  /** The hub refused the token: back to sign-in, staying on the same address. */
  private readonly onSessionEnded = () => {
    if (this.admin) this.onSignOut();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHashChange);
    window.addEventListener(SESSION_ENDED, this.onSessionEnded);
    window.addEventListener(THEME_CHANGED, this.onThemeChanged);
    document.documentElement.lang = currentLocale();
    void this.restore();
  }

  override disconnectedCallback(): void {
    window.removeEventListener('hashchange', this.onHashChange);
    window.removeEventListener(SESSION_ENDED, this.onSessionEnded);
    window.removeEventListener(THEME_CHANGED, this.onThemeChanged);
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

  /** Loads the route's screen, falling back to home for one the role may not open. */
  private async show(route: Route<Screen>) {
    const allowed = !this.admin || may(this.admin.role, route.screen.role);
    this.route = allowed ? route : { screen: SCREENS[0], params: {} };
    if (!this.admin) return;
    await this.route.screen.load();
    this.loaded = this.route.screen;
  }

  private async onSignedIn(event: SignedInEvent) {
    this.admin = event.detail;
    await this.show(routeOf(location.hash));
  }

  private async onSignOut() {
    await logOut();
    this.admin = null;
    this.loaded = null;
    void import('./screens/bf-login.js');
  }

  private screen(admin: Admin) {
    if (this.loaded !== this.route.screen) return html`<p>${t('common.loading')}</p>`;
    return this.route.screen.render({ admin, params: this.route.params });
  }

  override render() {
    const admin = this.admin;
    const current = section(this.route.screen);
    return html`
      <header>
        <h1>${t('app.title')}</h1>
        ${admin ? html`<span class="who">${admin.username} · ${admin.role}</span>` : nothing}
        <button id="theme" aria-pressed=${currentTheme() === 'dark' ? 'true' : 'false'}
          @click=${() => setTheme(currentTheme() === 'dark' ? 'light' : 'dark')}>${t('app.theme')}</button>
        <button id="language" @click=${() => setLocale(currentLocale() === 'en' ? 'zh-CN' : 'en')}>${t('app.language')}</button>
        ${admin ? html`<button id="sign-out" @click=${this.onSignOut}>${t('app.signOut')}</button>` : nothing}
      </header>
      ${admin
        ? html`<nav aria-label=${t('nav.label')}>
            ${SCREENS.map((s) =>
              s.nav && may(admin.role, s.role)
                ? html`<a href="#/${section(s)}" aria-current=${section(s) === current ? 'page' : 'false'}>${t(s.nav)}</a>`
                : nothing,
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

// <bf-app>: the shell — sign-in gate, header with language switch and sign-out, and the screen
// for the current #/route (loaded on first use).
import { LitElement, css, html } from 'lit';
import { currentAdmin, session, signOut, type Admin } from '../data/api.js';
import { LOCALE_CHANGED, currentLocale, setLocale, t } from '../i18n.js';
import type { SignedInEvent } from './events.js';

export class BfApp extends LitElement {
  static override properties = { admin: { state: true }, checking: { state: true } };
  admin: Admin | null = null;
  checking = true;

  static override styles = css`
    header { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: #1d2330; color: #fff; }
    header h1 { font-size: 18px; margin: 0; flex: 1; }
    header button { background: transparent; color: #fff; border: 1px solid #566; border-radius: 4px; padding: 4px 10px; cursor: pointer; }
    main { padding: 16px; max-width: 1200px; margin: 0 auto; }
    .who { font-size: 13px; opacity: 0.8; }
  `;

  private readonly rerender = () => this.requestUpdate();

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener(LOCALE_CHANGED, this.rerender);
    document.documentElement.lang = currentLocale();
    void this.restore();
  }

  override disconnectedCallback(): void {
    window.removeEventListener(LOCALE_CHANGED, this.rerender);
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
    if (this.admin) await import('./bf-nodes.js');
    else await import('./bf-login.js');
  }

  private async onSignedIn(event: SignedInEvent) {
    this.admin = event.detail;
    await import('./bf-nodes.js');
  }

  private onSignOut() {
    signOut();
    this.admin = null;
    void import('./bf-login.js');
  }

  override render() {
    return html`
      <header>
        <h1>${t('app.title')}</h1>
        ${this.admin ? html`<span class="who">${this.admin.username} · ${this.admin.role}</span>` : ''}
        <button id="language" @click=${() => setLocale(currentLocale() === 'en' ? 'zh-CN' : 'en')}>${t('app.language')}</button>
        ${this.admin ? html`<button id="sign-out" @click=${this.onSignOut}>${t('app.signOut')}</button>` : ''}
      </header>
      <main>
        ${this.checking
          ? html`<p>${t('common.loading')}</p>`
          : this.admin
            ? html`<bf-nodes .adminRole=${this.admin.role}></bf-nodes>`
            : html`<bf-login @bf-signed-in=${this.onSignedIn}></bf-login>`}
      </main>
    `;
  }
}

customElements.define('bf-app', BfApp);

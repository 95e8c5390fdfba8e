// <bf-portal>: the end-user page at /portal/<token>: status, traffic and expiry, the subscription
// QR code and link, their traffic per day and per server, import and copy per client app, the servers;
// English or Simplified Chinese.
import { LitElement, css, html, nothing } from 'lit';
import { InvalidLinkError, loadPortal, qrImageUrl, tokenFromPath, type Portal } from './data.js';
import { initialLocale, msg, reasonText, storeLocale, type PortalLocale } from './messages.js';
import './bf-portal-clients.js';
import './bf-portal-copy.js';
import './bf-portal-history.js';
import './bf-portal-links.js';
import './bf-portal-usage.js';
import { focusRing } from '../ui/shared-styles.js';

type View = { kind: 'loading' } | { kind: 'invalid' } | { kind: 'error' } | { kind: 'ready'; portal: Portal };

export class BfPortal extends LitElement {
  static override properties = { locale: { state: true }, view: { state: true } };
  locale: PortalLocale = initialLocale();
  view: View = { kind: 'loading' };

  static override styles = [focusRing, css`
    :host { display: block; min-height: 100vh; }
    header { display: flex; align-items: center; gap: 12px; padding: 12px 16px; background: var(--bf-header); color: var(--bf-on-header); }
    header h1 { font-size: 18px; margin: 0; flex: 1; overflow-wrap: anywhere; }
    header button { font: inherit; font-size: 14px; background: transparent; color: var(--bf-on-header); border: 1px solid var(--bf-header-border); border-radius: 6px; padding: 6px 12px; min-height: 36px; cursor: pointer; }
    main { padding: 16px; max-width: 960px; margin: 0 auto; box-sizing: border-box; }
    .grid { display: grid; gap: 16px; grid-template-columns: 1fr; }
    @media (min-width: 760px) {
      .grid { grid-template-columns: 1fr 1fr; }
      .wide { grid-column: 1 / -1; }
    }
    .card { background: var(--bf-surface); border-radius: 12px; padding: 16px; box-shadow: 0 1px 3px rgba(20, 30, 50, 0.08); min-width: 0; }
    .status { display: flex; align-items: center; gap: 8px; margin-bottom: 16px; }
    .badge { display: inline-block; padding: 3px 10px; border-radius: 999px; font-size: 13px; font-weight: 600; }
    .badge.active { background: var(--bf-ok-bg); color: var(--bf-ok); }
    .badge.suspended { background: var(--bf-warn-bg); color: var(--bf-warn); }
    .badge.expired, .badge.inactive { background: var(--bf-danger-bg); color: var(--bf-danger); }
    .reason { background: var(--bf-danger-bg); border: 1px solid var(--bf-danger-border); color: var(--bf-danger); border-radius: 8px; padding: 10px 12px; margin: 0 0 16px; }
    .qr { text-align: center; }
    .qr h2 { font-size: 16px; margin: 0 0 8px; text-align: left; }
    .qr img { width: 220px; height: 220px; max-width: 100%; image-rendering: pixelated; }
    .url { display: block; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; background: var(--bf-code-bg); border-radius: 6px; padding: 8px; margin: 8px 0; text-align: left; overflow-wrap: anywhere; user-select: all; }
    .center { text-align: center; padding: 48px 16px; }
    .center h2 { font-size: 20px; margin: 0 0 8px; }
    .muted { color: var(--bf-muted); }
    .retry { font: inherit; margin-top: 12px; min-height: 40px; padding: 8px 16px; border-radius: 8px; border: 1px solid var(--bf-input-border); background: var(--bf-surface); cursor: pointer; }
  `];

  override connectedCallback(): void {
    super.connectedCallback();
    document.documentElement.lang = this.locale;
    void this.load();
  }

  private async load() {
    const token = tokenFromPath();
    if (!token) {
      this.view = { kind: 'invalid' };
      return;
    }
    this.view = { kind: 'loading' };
    try {
      this.view = { kind: 'ready', portal: await loadPortal(token) };
    } catch (error) {
      this.view = { kind: error instanceof InvalidLinkError ? 'invalid' : 'error' };
    }
  }

  private switchLocale() {
    this.locale = this.locale === 'en' ? 'zh-CN' : 'en';
    storeLocale(this.locale);
    document.documentElement.lang = this.locale;
  }

  override updated(): void {
    document.title = `${this.view.kind === 'ready' ? `${this.view.portal.name} · ` : ''}${msg(this.locale, 'title')}`;
  }

  private renderReady(p: Portal) {
    const l = this.locale;
    return html`
      <div class="grid">
        <section class="card">
          <div class="status">
            <span class="muted">${msg(l, 'status')}</span>
            <span class="badge ${p.badge}">${msg(l, `status.${p.badge}`)}</span>
          </div>
          ${p.status === 'active' ? nothing : html`<p class="reason" role="alert">${reasonText(l, p.status, p.statusText)}</p>`}
          <bf-portal-usage .used=${p.used} .total=${p.total} .expire=${p.expire} .locale=${l}></bf-portal-usage>
        </section>
        <section class="card qr">
          <h2>${msg(l, 'qr.title')}</h2>
          <img src=${qrImageUrl(p.token)} alt=${msg(l, 'qr.alt')} width="220" height="220" />
          <code class="url" aria-label=${msg(l, 'sub.url')}>${p.url}</code>
          <bf-portal-copy primary .value=${p.url} .label=${msg(l, 'copy.url')} .locale=${l}></bf-portal-copy>
        </section>
        <section class="card wide">
          <bf-portal-history .token=${p.token} .locale=${l}></bf-portal-history>
        </section>
        <section class="card wide">
          <bf-portal-clients .formats=${p.formats} .name=${p.name} .locale=${l}></bf-portal-clients>
        </section>
        ${p.status !== 'active' ? nothing : html`<section class="card wide"><bf-portal-links .token=${p.token} .links=${p.links} .locale=${l}></bf-portal-links></section>`}
      </div>
    `;
  }

  private renderBody() {
    const l = this.locale;
    switch (this.view.kind) {
      case 'loading':
        return html`<div class="center muted" role="status">${msg(l, 'loading')}</div>`;
      case 'invalid':
        return html`<div class="center card"><h2>${msg(l, 'invalid.title')}</h2><p class="muted">${msg(l, 'invalid.body')}</p></div>`;
      case 'error':
        return html`<div class="center card" role="alert">
          <p>${msg(l, 'error')}</p>
          <button class="retry" @click=${() => void this.load()}>${msg(l, 'retry')}</button>
        </div>`;
      case 'ready':
        return this.renderReady(this.view.portal);
    }
  }

  override render() {
    return html`
      <header>
        <h1>${msg(this.locale, 'title')}</h1>
        <button lang=${this.locale === 'en' ? 'zh-CN' : 'en'} @click=${this.switchLocale}>${msg(this.locale, 'language')}</button>
      </header>
      <main>${this.renderBody()}</main>
    `;
  }
}

customElements.define('bf-portal', BfPortal);

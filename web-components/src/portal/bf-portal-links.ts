// <bf-portal-links>: the servers this subscription reaches, each share link to copy or show as a QR.
import { LitElement, css, html, nothing } from 'lit';
import { qrImageUrl } from './data.js';
import { msg, type PortalLocale } from './messages.js';
import './bf-portal-copy.js';
import { focusRing } from '../ui/shared-styles.js';

export class BfPortalLinks extends LitElement {
  static override properties = {
    token: { type: String },
    links: { attribute: false },
    locale: { type: String },
    open: { state: true },
  };
  token = '';
  links: { name: string; url: string }[] = [];
  locale: PortalLocale = 'en';
  /** The link whose QR code is shown, if any. */
  open: number | null = null;

  static override styles = [focusRing, css`
    :host { display: block; }
    h2 { font-size: 16px; margin: 0 0 4px; }
    ul { list-style: none; margin: 0; padding: 0; }
    li { padding: 10px 0; border-top: 1px solid var(--bf-border); }
    .row { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
    .name { flex: 1 1 160px; overflow-wrap: anywhere; }
    button { font: inherit; font-size: 14px; min-height: 40px; padding: 8px 14px; border-radius: 8px; border: 1px solid var(--bf-input-border); background: var(--bf-surface); cursor: pointer; }
    img { display: block; width: 200px; height: 200px; margin: 10px auto 0; }
    .muted { color: var(--bf-muted); font-size: 14px; }
  `];

  private toggle(index: number) {
    this.open = this.open === index ? null : index;
  }

  override render() {
    const l = this.locale;
    return html`
      <h2>${msg(l, 'links.title')}</h2>
      ${this.links.length === 0
        ? html`<p class="muted">${msg(l, 'links.empty')}</p>`
        : html`<ul>
            ${this.links.map(
              (link, i) => html`<li>
                <div class="row">
                  <span class="name">${link.name}</span>
                  <bf-portal-copy .value=${link.url} .locale=${l}></bf-portal-copy>
                  <button aria-expanded=${this.open === i ? 'true' : 'false'} @click=${() => this.toggle(i)}>
                    ${this.open === i ? msg(l, 'links.hide') : msg(l, 'links.qr')}
                  </button>
                </div>
                ${this.open === i ? html`<img src=${qrImageUrl(this.token, i)} alt="${msg(l, 'links.qr')} · ${link.name}" />` : nothing}
              </li>`,
            )}
          </ul>`}
    `;
  }
}

customElements.define('bf-portal-links', BfPortalLinks);

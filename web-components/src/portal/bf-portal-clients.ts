// <bf-portal-clients>: per client type, the one-tap import (where the app registers a URL scheme)
// and the subscription URL to copy, pinned to the format that app reads.
import { LitElement, css, html, nothing } from 'lit';
import { clashImportUrl, singboxImportUrl, type Format } from './data.js';
import { msg, type PortalLocale, type PortalMessage } from './messages.js';
import './bf-portal-copy.js';
import { focusRing } from '../ui/shared-styles.js';

interface Client {
  label: PortalMessage;
  /** The format the app reads. */
  format: Format;
  /** Its import link, from that format's URL, when it has one. */
  importUrl?: (url: string, name: string) => string;
}

const CLIENTS: Client[] = [
  { label: 'clients.singbox', format: 'singbox', importUrl: singboxImportUrl },
  { label: 'clients.clash', format: 'clash', importUrl: clashImportUrl },
  { label: 'clients.shadowrocket', format: 'base64' },
  { label: 'clients.v2rayn', format: 'base64' },
];

export class BfPortalClients extends LitElement {
  static override properties = { formats: { attribute: false }, name: { type: String }, locale: { type: String } };
  /** The subscription URL of each format. */
  formats: Partial<Record<Format, string>> = {};
  name = '';
  locale: PortalLocale = 'en';

  static override styles = [focusRing, css`
    :host { display: block; }
    h2 { font-size: 16px; margin: 0 0 4px; }
    .hint { color: var(--bf-muted); font-size: 13px; margin: 0 0 8px; }
    ul { list-style: none; margin: 0; padding: 0; }
    li { display: flex; align-items: center; justify-content: space-between; gap: 8px; flex-wrap: wrap; padding: 12px 0; border-top: 1px solid var(--bf-border); }
    .name { font-weight: 600; flex: 1 1 180px; }
    .actions { display: flex; gap: 8px; flex-wrap: wrap; }
    a.import { display: inline-flex; align-items: center; min-height: 40px; box-sizing: border-box; padding: 8px 14px; border-radius: 8px; background: var(--bf-accent); color: var(--bf-on-accent); text-decoration: none; font-size: 14px; }
    a.import:focus-visible { outline: 3px solid var(--bf-focus); outline-offset: 1px; }
  `];

  override render() {
    const l = this.locale;
    return html`
      <h2>${msg(l, 'clients.title')}</h2>
      <p class="hint">${msg(l, 'clients.hint')}</p>
      <ul>
        ${CLIENTS.map((c) => {
          const url = this.formats[c.format] ?? '';
          return html`<li>
            <span class="name">${msg(l, c.label)}</span>
            <span class="actions">
              ${c.importUrl
                ? html`<a class="import" href=${c.importUrl(url, this.name)} aria-label="${msg(l, 'clients.import')} · ${msg(l, c.label)}">${msg(l, 'clients.import')}</a>`
                : nothing}
              <bf-portal-copy .value=${url} .label=${msg(l, 'copy.url')} .locale=${l}></bf-portal-copy>
            </span>
          </li>`;
        })}
      </ul>
    `;
  }
}

customElements.define('bf-portal-clients', BfPortalClients);

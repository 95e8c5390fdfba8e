// <bf-portal-usage>: traffic used against the quota as a bar with its percentage, and the expiry.
import { LitElement, css, html } from 'lit';
import { formatBytes, formatDate, msg, type PortalLocale } from './messages.js';
import { focusRing } from '../ui/shared-styles.js';

const DAY = 86_400_000;

export class BfPortalUsage extends LitElement {
  static override properties = {
    used: { type: Number },
    total: { type: Number },
    expire: { type: Number },
    locale: { type: String },
  };
  used = 0;
  total = 0;
  expire = 0;
  locale: PortalLocale = 'en';

  static override styles = [focusRing, css`
    :host { display: block; }
    .row { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; flex-wrap: wrap; }
    h2 { font-size: 14px; font-weight: 600; color: var(--bf-muted); margin: 0 0 6px; }
    .pct { font-size: 28px; font-weight: 700; }
    .bar { height: 12px; border-radius: 6px; background: var(--bf-track); overflow: hidden; margin: 8px 0 6px; }
    .fill { height: 100%; background: var(--bf-accent); border-radius: 6px; transition: width 0.3s; }
    .fill.warn { background: var(--bf-warn-fill); }
    .fill.full { background: var(--bf-danger); }
    .muted { color: var(--bf-muted); font-size: 14px; }
    .expiry { margin-top: 16px; }
    .date { font-size: 18px; font-weight: 600; }
  `];

  private expiryText() {
    if (!this.expire) return html`<span class="date">${msg(this.locale, 'expiry.never')}</span>`;
    const left = this.expire * 1000 - Date.now();
    const relative = left <= 0 ? msg(this.locale, 'expiry.past') : left < DAY ? msg(this.locale, 'expiry.today') : msg(this.locale, "expiry.inDays", { days: Math.ceil(left / DAY) });
    return html`<span class="date">${formatDate(this.locale, this.expire)}</span> <span class="muted">(${relative})</span>`;
  }

  override render() {
    const l = this.locale;
    const limited = this.total > 0;
    const pct = limited ? Math.min(100, (this.used / this.total) * 100) : 0;
    const shown = limited ? (pct > 0 && pct < 1 ? '<1' : String(Math.round(pct))) : '';
    // The bar's width goes through the style property (CSSOM), which the CSP allows; a style attribute it refuses.
    return html`
      <h2>${msg(l, 'usage')}</h2>
      ${limited
        ? html`
            <div class="row"><span class="pct">${shown}%</span><span class="muted">${msg(l, 'usage.left', { left: formatBytes(l, Math.max(0, this.total - this.used)) })}</span></div>
            <div class="bar" role="progressbar" aria-label=${msg(l, 'usage')} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${Math.round(pct)} aria-valuetext="${shown}%">
              <div class="fill ${pct >= 100 ? 'full' : pct >= 80 ? 'warn' : ''}" .style=${`width: ${pct.toFixed(1)}%`}></div>
            </div>
            <div class="muted">${msg(l, 'usage.of', { used: formatBytes(l, this.used), total: formatBytes(l, this.total) })}</div>
          `
        : html`<div class="muted">${msg(l, 'usage.unlimited', { used: formatBytes(l, this.used) })}</div>`}
      <div class="expiry">
        <h2>${msg(l, 'expiry')}</h2>
        ${this.expiryText()}
      </div>

    `;
  }
}

customElements.define('bf-portal-usage', BfPortalUsage);

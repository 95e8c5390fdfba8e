// <bf-portal-history>: the user's traffic per day over the last 30 days as bars, and per server, as
// the quota counts it (billed bytes). Loads on its own, so the rest of the page never waits for it.
import { LitElement, css, html, nothing } from 'lit';
import { loadUsage, type PortalUsage } from './data.js';
import { formatBytes, msg, type PortalLocale } from './messages.js';
import { focusRing } from '../ui/shared-styles.js';

/** A day (YYYY-MM-DD) as "10 Mar" / "3月10日": formatted in UTC, where the date string's midnight is. */
const dayLabel = (locale: PortalLocale, day: string) => new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(Date.parse(day));

export class BfPortalHistory extends LitElement {
  static override properties = { token: { type: String }, locale: { type: String }, usage: { state: true }, failed: { state: true } };
  token = '';
  locale: PortalLocale = 'en';
  usage: PortalUsage | null = null;
  failed = false;

  static override styles = [focusRing, css`
    :host { display: block; }
    h2 { font-size: 16px; margin: 0 0 4px; }
    h3 { font-size: 14px; font-weight: 600; color: var(--bf-muted); margin: 16px 0 6px; }
    .muted { color: var(--bf-muted); font-size: 13px; }
    .bars { display: flex; align-items: flex-end; gap: 2px; height: 120px; margin: 12px 0 4px; border-bottom: 1px solid var(--bf-input-border); }
    .day { flex: 1 1 0; height: 100%; display: flex; align-items: flex-end; min-width: 0; }
    .day span { display: block; width: 100%; background: var(--bf-accent); border-radius: 2px 2px 0 0; min-height: 1px; }
    .day.zero span { background: transparent; }
    .ends { display: flex; justify-content: space-between; }
    ul { list-style: none; margin: 0; padding: 0; }
    li { display: flex; justify-content: space-between; gap: 8px; padding: 8px 0; border-top: 1px solid var(--bf-border); }
    li .name { overflow-wrap: anywhere; }
  `];

  override connectedCallback(): void {
    super.connectedCallback();
    loadUsage(this.token).then(
      (usage) => (this.usage = usage),
      () => (this.failed = true),
    );
  }

  private renderDays(u: PortalUsage) {
    const l = this.locale;
    const max = Math.max(1, ...u.days.map((d) => d.billed_bytes));
    // Heights go through the style property (CSSOM), which the CSP allows; a style attribute it refuses.
    return html`<div class="bars" role="list" aria-label=${msg(l, 'history.title')}>
        ${u.days.map((d) => {
          const text = `${dayLabel(l, d.day)}: ${formatBytes(l, d.billed_bytes)}`;
          return html`<div class="day ${d.billed_bytes ? '' : 'zero'}" role="listitem" aria-label=${text} title=${text}>
            <span .style=${`height: ${((d.billed_bytes / max) * 100).toFixed(1)}%`}></span>
          </div>`;
        })}
      </div>
      <div class="ends muted"><span>${dayLabel(l, u.from)}</span><span>${dayLabel(l, u.to)}</span></div>`;
  }

  override render() {
    const l = this.locale;
    const u = this.usage;
    if (this.failed) return html`<h2>${msg(l, 'history.title')}</h2><p class="muted">${msg(l, 'history.failed')}</p>`;
    if (!u) return html`<h2>${msg(l, 'history.title')}</h2><p class="muted" role="status">${msg(l, 'loading')}</p>`;
    return html`
      <h2>${msg(l, 'history.title')}</h2>
      <p class="muted">${msg(l, 'history.total', { total: formatBytes(l, u.totals.billed_bytes), days: u.days.length, zone: u.time_zone })}</p>
      ${this.renderDays(u)}
      ${u.nodes.length === 0
        ? nothing
        : html`<h3>${msg(l, 'history.servers')}</h3>
            <ul aria-label=${msg(l, 'history.servers')}>
              ${u.nodes.map((n) => html`<li><span class="name">${n.name}</span><span>${formatBytes(l, n.billed_bytes)}</span></li>`)}
            </ul>`}
    `;
  }
}

customElements.define('bf-portal-history', BfPortalHistory);

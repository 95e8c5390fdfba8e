// <bf-audit>: the audit log, newest first, filtered by admin, action, target, result and time.
import { css, html, nothing } from 'lit';
import { listAudit, type AuditEntry, type AuditFilter } from '../data/audit.js';
import type { Page } from '../data/http.js';
import { t } from '../i18n.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

const PER_PAGE = 50;

/** A `datetime-local` value (local time) as the ISO time the API takes. */
const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined);

export class BfAudit extends LocalizedElement {
  static override properties = { filter: { state: true }, page: { state: true } };
  private readonly entries = new Loader<Page<AuditEntry>>(this, () => listAudit(this.filter, this.page, PER_PAGE));
  filter: AuditFilter = {};
  page = 1;

  static override styles = [
    screenStyles,
    css`
      .filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; align-items: end; margin-bottom: 12px; }
      .filters label { display: grid; gap: 4px; font-size: 13px; }
      code { font-size: 12px; word-break: break-all; }
      @media (max-width: 600px) { .input, .duration { display: none; } }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.entries.load();
  }

  private apply(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    this.filter = {
      admin: text('admin'),
      action: text('action'),
      target: text('target'),
      result: text('result') as AuditFilter['result'],
      from: isoOf(String(form.get('from') ?? '')),
      to: isoOf(String(form.get('to') ?? '')),
    };
    this.page = 1;
    void this.entries.load();
  }

  private go(page: number) {
    this.page = page;
    void this.entries.load();
  }

  override render() {
    const list = this.entries.value;
    const pages = list ? Math.max(1, Math.ceil(list.total / list.per_page)) : 1;
    return html`
      <h2>${t('audit.title')}</h2>
      <form class="filters" role="search" @submit=${this.apply}>
        <label>${t('audit.admin')}<input name="admin" /></label>
        <label>${t('audit.action')}<input name="action" placeholder="user, plan.create…" /></label>
        <label>${t('audit.target')}<input name="target" /></label>
        <label>${t('audit.result')}
          <select name="result">
            <option value="">${t('common.all')}</option>
            <option value="ok">${t('audit.ok')}</option>
            <option value="error">${t('audit.failed')}</option>
          </select></label>
        <label>${t('audit.from')}<input name="from" type="datetime-local" /></label>
        <label>${t('audit.to')}<input name="to" type="datetime-local" /></label>
        <div><button type="submit">${t('audit.filter')}</button></div>
      </form>
      ${this.entries.status()}
      ${list?.items.length === 0 ? html`<p>${t('audit.empty')}</p>` : nothing}
      ${list?.items.length
        ? html`<div class="scroll" tabindex="0" role="region" aria-label=${t('audit.title')}><table>
              <thead><tr>
                <th>${t('audit.time')}</th><th>${t('audit.admin')}</th><th>${t('audit.action')}</th><th>${t('audit.target')}</th>
                <th>${t('audit.result')}</th><th class="input">${t('audit.input')}</th><th class="duration">ms</th>
              </tr></thead>
              <tbody>
                ${list.items.map(
                  (e) => html`<tr>
                    <td>${formatTime(e.time)}</td>
                    <td>${e.admin}</td>
                    <td>${e.action}</td>
                    <td>${e.target}</td>
                    <td><span class="badge ${e.result}">${e.result === 'ok' ? t('audit.ok') : t('audit.failed')} ${e.status_code}</span>
                      ${e.error ? html`<div class="error muted">${e.error}</div>` : nothing}</td>
                    <td class="input"><code>${e.input === null || e.input === undefined ? '' : JSON.stringify(e.input)}</code></td>
                    <td class="duration">${e.duration_ms}</td>
                  </tr>`,
                )}
              </tbody>
            </table></div>
            <div class="pager">
              <button class="secondary" ?disabled=${list.page <= 1} @click=${() => this.go(list.page - 1)}>${t('common.previous')}</button>
              <span>${t('common.page')} ${list.page} / ${pages} · ${list.total}</span>
              <button class="secondary" ?disabled=${list.page >= pages} @click=${() => this.go(list.page + 1)}>${t('common.next')}</button>
            </div>`
        : nothing}
    `;
  }
}

customElements.define('bf-audit', BfAudit);

// <bf-users-table>: one page of the users table — status with its reason, plan, usage bar, expiry
// and last traffic in words — with sortable headers and, for operators, a checkbox per row.
// Sends `bf-sort` (the new sort) and `bf-selection` (the ids now selected); the screen owns both.
import { css, html, nothing } from 'lit';
import type { TableSort, TableStatus, UserRow } from '../data/users.js';
import { t, type MessageKey } from '../i18n.js';
import { formatBytes, formatDate, formatRelative } from '../ui/format.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import type { TableState } from './bf-users-state.js';

const SORT = 'bf-sort';
const SELECTION = 'bf-selection';

/** Each table status's words and badge. */
export const STATUS: Record<TableStatus, { label: MessageKey; badge: string }> = {
  active: { label: 'usersTable.active', badge: 'active' },
  suspended_quota: { label: 'usersTable.suspendedQuota', badge: 'suspended' },
  suspended_admin: { label: 'usersTable.suspendedAdmin', badge: 'suspended' },
  expired: { label: 'usersTable.expired', badge: 'expired' },
  disabled: { label: 'usersTable.disabled', badge: 'disabled' },
  no_plan: { label: 'usersTable.noPlan', badge: 'none' },
};

const COLUMNS: { key: TableSort; label: MessageKey }[] = [
  { key: 'name', label: 'users.name' },
  { key: 'status', label: 'users.status' },
  { key: 'plan', label: 'usersTable.plan' },
  { key: 'usage_percent', label: 'usersTable.usage' },
  { key: 'expires_at', label: 'usersTable.expires' },
  { key: 'last_traffic_at', label: 'usersTable.lastTraffic' },
  { key: 'created_at', label: 'users.created' },
];

/** The hour a row's last traffic names holds now: it is going on. */
const HOUR_MS = 3_600_000;

export class BfUsersTable extends LocalizedElement {
  static override properties = {
    rows: { attribute: false },
    state: { attribute: false },
    selection: { attribute: false },
    openId: { attribute: false },
    selectable: { type: Boolean },
    allMatching: { type: Boolean },
    linkOf: { attribute: false },
  };
  rows: UserRow[] = [];
  state!: TableState;
  selection: ReadonlySet<number> = new Set();
  openId: number | null = null;
  selectable = false;
  /** Every user matching the filter is the target: the checkboxes show it and wait. */
  allMatching = false;
  /** The address that opens a user beside the table. */
  linkOf: (id: number) => string = (id) => `#/users/${id}`;

  static override styles = [
    screenStyles,
    css`
      th { white-space: nowrap; }
      th button { background: none; border: none; color: inherit; font-weight: 600; padding: 0; }
      /* The open user's row: a bar at its start (a tinted row would put the muted text below 4.5:1). */
      tr.open td:first-child { box-shadow: inset 4px 0 var(--bf-accent); }
      td.check, th.check { width: 24px; }
      .bar { width: 100px; height: 6px; border-radius: 3px; background: var(--bf-track); overflow: hidden; margin-top: 4px; }
      .bar span { display: block; height: 100%; background: var(--bf-accent); }
      .bar.full span { background: var(--bf-danger); }
      .usage, .when, .badge { white-space: nowrap; }
      .note { display: block; max-width: 240px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    `,
  ];

  private send<T>(name: string, detail: T) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  private sortBy(key: TableSort) {
    this.send(SORT, this.state.sort === key ? `-${key}` : key);
  }

  private toggle(id: number, on: boolean) {
    const next = new Set(this.selection);
    if (on) next.add(id);
    else next.delete(id);
    this.send(SELECTION, [...next]);
  }

  private toggleAll(on: boolean) {
    const next = new Set(this.selection);
    for (const row of this.rows) {
      if (on) next.add(row.id);
      else next.delete(row.id);
    }
    this.send(SELECTION, [...next]);
  }

  private header({ key, label }: (typeof COLUMNS)[number]) {
    const sort = this.state.sort;
    const direction = sort === key ? 'ascending' : sort === `-${key}` ? 'descending' : 'none';
    return html`<th aria-sort=${direction} data-sort=${key}>
      <button @click=${() => this.sortBy(key)}>${t(label)}<span aria-hidden="true">${direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ''}</span></button>
    </th>`;
  }

  private usage(row: UserRow) {
    if (row.traffic_used_bytes === null) return html`<span class="muted">—</span>`;
    const total = row.traffic_total_bytes ? formatBytes(row.traffic_total_bytes) : t('usersTable.unlimited');
    const percent = row.usage_percent;
    return html`<span class="usage">${formatBytes(row.traffic_used_bytes)} / ${total}${percent === null ? '' : ` · ${percent.toFixed(percent < 10 ? 1 : 0)}%`}</span>
      ${percent === null
        ? nothing
        : html`<div class="bar ${percent >= 100 ? 'full' : ''}" aria-hidden="true"><span data-width=${Math.min(100, percent)}></span></div>`}`;
  }

  private lastTraffic(iso: string | null, now: number) {
    if (!iso) return t('usersTable.never');
    return now - Date.parse(iso) < HOUR_MS ? t('usersTable.now') : formatRelative(iso, now);
  }

  override updated() {
    // Widths are set through CSSOM: the dashboard's CSP allows no inline style attributes.
    for (const bar of this.renderRoot.querySelectorAll<HTMLElement>('.bar span')) bar.style.width = `${bar.dataset.width}%`;
  }

  override render() {
    const now = Date.now();
    const pageSelected = this.rows.length > 0 && this.rows.every((r) => this.selection.has(r.id));
    return html`<div class="scroll"><table>
      <thead><tr>
        ${this.selectable
          ? html`<th class="check"><input type="checkbox" aria-label=${t('usersTable.selectPage')} .checked=${this.allMatching || pageSelected}
              ?disabled=${this.allMatching} @change=${(e: Event) => this.toggleAll((e.target as HTMLInputElement).checked)} /></th>`
          : nothing}
        ${COLUMNS.map((c) => this.header(c))}
      </tr></thead>
      <tbody>
        ${this.rows.map((row) => {
          const status = STATUS[row.table_status];
          return html`<tr class=${row.id === this.openId ? 'open' : ''} data-user=${row.name}>
            ${this.selectable
              ? html`<td class="check"><input type="checkbox" aria-label="${t('usersTable.select')} ${row.name}" .checked=${this.allMatching || this.selection.has(row.id)}
                  ?disabled=${this.allMatching} @change=${(e: Event) => this.toggle(row.id, (e.target as HTMLInputElement).checked)} /></td>`
              : nothing}
            <td><a href=${this.linkOf(row.id)}>${row.name}</a>
              <a class="muted" href="#/users/${row.id}/usage" aria-label="${t('users.usage')} · ${row.name}">${t('users.usage')}</a>
              ${row.note ? html`<span class="note muted" title=${row.note}>${row.note}</span>` : nothing}</td>
            <td><span class="badge ${status.badge}" data-table-status=${row.table_status}>${t(status.label)}</span></td>
            <td>${row.plan?.name ?? html`<span class="muted">—</span>`}</td>
            <td>${this.usage(row)}</td>
            <td class="when" data-expires=${row.expires_at ?? ''}>${row.expires_at
              ? html`${formatDate(row.expires_at)}<br /><span class="muted">${formatRelative(row.expires_at, now)}</span>`
              : html`<span class="muted">—</span>`}</td>
            <td class="when">${this.lastTraffic(row.last_traffic_at, now)}</td>
            <td class="when">${formatDate(row.created_at)}</td>
          </tr>`;
        })}
      </tbody>
    </table></div>`;
  }
}

customElements.define('bf-users-table', BfUsersTable);

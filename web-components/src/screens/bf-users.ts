// <bf-users>: the users table — search, status and plan filters, sort, page size and paging, all on
// the hub and all kept in the address — with bulk actions on the selected rows or on everyone the
// filter matches, "New customer", export and import. Choosing a user opens them above the table.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import type { Page } from '../data/http.js';
import { listPlans, type Plan } from '../data/plans.js';
import { BULK_ACTIONS, exportUsers, listUsers, TABLE_STATUSES, type BulkAction, type TableStatus, type UserRow, type UsersFormat } from '../data/users.js';
import { t } from '../i18n.js';
import { Changes } from '../ui/changes.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import '../widgets/bf-new-customer.js';
import '../widgets/bf-user-detail.js';
import { BULK_LABELS } from '../widgets/bf-users-bulk.js';
import '../widgets/bf-users-import.js';
import { filterOf, PAGE_SIZES, readTableState, tableHash, tableQuery, type TableState } from './bf-users-state.js';
import { STATUS } from './bf-users-table.js';


type Dialog = { kind: 'bulk'; action: BulkAction; ran?: boolean } | { kind: 'new' } | { kind: 'import' } | null;

export class BfUsers extends LocalizedElement {
  static override properties = {
    adminRole: {},
    selected: { attribute: false },
    state: { state: true },
    selection: { state: true },
    allMatching: { state: true },
    dialog: { state: true },
  };
  adminRole: Role = 'viewer';
  /** The user open above the table (from the address). */
  selected: number | null = null;
  /** Search, filters, sort and page: the address's query. */
  state: TableState = readTableState(location.hash);
  /** The rows ticked, by id, kept across pages until the view changes. */
  selection: ReadonlySet<number> = new Set();
  /** Bulk actions target everyone the filter matches instead of the ticked rows. */
  allMatching = false;
  dialog: Dialog = null;
  private readonly users = new Loader<Page<UserRow>>(this, () => listUsers({ ...filterOf(this.state), sort: this.state.sort, page: this.state.page, per_page: this.state.per_page }));
  private readonly plans = new Loader<Plan[]>(this, listPlans);
  private readonly exporting = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      .toolbar { display: flex; gap: 8px 12px; flex-wrap: wrap; align-items: end; margin: 8px 0; }
      .toolbar .field { display: grid; gap: 2px; font-size: 13px; color: var(--bf-strong-muted); }
      .search { display: flex; gap: 8px; flex: 1 1 240px; }
      .search input { flex: 1; min-width: 120px; }
      .bulk { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 8px 0; padding: 8px; border-radius: 6px; background: var(--bf-neutral-bg); }
      .bulk .what { font-size: 14px; margin-right: 4px; }
    `,
  ];

  private readonly onHashChange = () => {
    const next = readTableState(location.hash);
    if (tableQuery(next) === tableQuery(this.state)) return;
    // Another view: what was selected may not be in it.
    const filterChanged = JSON.stringify(filterOf(next)) !== JSON.stringify(filterOf(this.state));
    this.state = next;
    if (filterChanged) this.clearSelection();
    void this.users.load({ keep: true });
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHashChange);
    this.state = readTableState(location.hash);
    void this.users.load();
    void this.plans.load();
  }

  override disconnectedCallback(): void {
    window.removeEventListener('hashchange', this.onHashChange);
    super.disconnectedCallback();
  }

  /** Shows the table in another state: a new address, so Back returns to this one. */
  private go(change: Partial<TableState>) {
    location.hash = tableHash({ ...this.state, page: 1, ...change }, this.selected);
  }

  private clearSelection() {
    this.selection = new Set();
    this.allMatching = false;
  }

  private search(event: SubmitEvent) {
    event.preventDefault();
    this.go({ q: String(new FormData(event.target as HTMLFormElement).get('q') ?? '').trim() || undefined });
  }

  private export(format: UsersFormat) {
    void this.exporting.run(async () => {
      const file = await exportUsers(format);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(file);
      link.download = file.name;
      link.click();
      // Long after the browser has read it for the download the click started.
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    });
  }

  private reload() {
    void this.users.load({ keep: true });
  }

  private bulkRan() {
    if (this.dialog?.kind === 'bulk') this.dialog = { ...this.dialog, ran: true };
    this.reload();
  }

  private closeDialog() {
    // A bulk action that ran is done with its selection; a cancelled one keeps it (and its button,
    // which gets focus back).
    if (this.dialog?.kind === 'bulk' && this.dialog.ran) this.clearSelection();
    this.dialog = null;
  }

  private created(event: CustomEvent<number>) {
    this.reload();
    // The new user opens above the table once the dialog closes.
    this.selected = event.detail;
  }

  private closeNew() {
    const opened = this.selected;
    this.dialog = null;
    if (opened) location.hash = tableHash(this.state, opened);
  }

  private filters(plans: Plan[]) {
    const s = this.state;
    return html`<div class="toolbar">
      <form class="search" role="search" @submit=${this.search}>
        <input name="q" type="search" .value=${s.q ?? ''} placeholder=${t('users.searchPlaceholder')} aria-label=${t('users.search')} />
        <button type="submit">${t('users.search')}</button>
      </form>
      <div class="field"><label for="filter-status">${t('users.status')}</label>
        <select id="filter-status" @change=${(e: Event) => this.go({ status: ((e.target as HTMLSelectElement).value || undefined) as TableStatus | undefined })}>
          <option value="" ?selected=${!s.status}>${t('common.all')}</option>
          ${TABLE_STATUSES.map((status) => html`<option value=${status} ?selected=${s.status === status}>${t(STATUS[status].label)}</option>`)}
        </select>
      </div>
      <div class="field"><label for="filter-plan">${t('usersTable.filterPlan')}</label>
        <select id="filter-plan" @change=${(e: Event) => this.go({ plan_id: Number((e.target as HTMLSelectElement).value) || undefined })}>
          <option value="" ?selected=${!s.plan_id}>${t('common.all')}</option>
          ${plans.map((p) => html`<option value=${p.id} ?selected=${s.plan_id === p.id}>${p.name}</option>`)}
        </select>
      </div>
      <div class="field"><label for="page-size">${t('usersTable.pageSize')}</label>
        <select id="page-size" @change=${(e: Event) => this.go({ per_page: Number((e.target as HTMLSelectElement).value) })}>
          ${PAGE_SIZES.map((size) => html`<option value=${size} ?selected=${s.per_page === size}>${size}</option>`)}
        </select>
      </div>
    </div>`;
  }

  private bulkBar(total: number) {
    const count = this.allMatching ? total : this.selection.size;
    return html`<div class="bulk" role="group" aria-label=${t('bulk.title')}>
      <span class="what" role="status">${(this.allMatching ? t('bulk.allMatching') : t('bulk.selected')).replace('{count}', String(count))}</span>
      <button class="secondary" aria-pressed=${this.allMatching ? 'true' : 'false'} @click=${() => (this.allMatching = !this.allMatching)}>
        ${t('bulk.selectAllMatching').replace('{count}', String(total))}</button>
      ${count ? html`<button class="secondary" @click=${() => this.clearSelection()}>${t('bulk.clear')}</button>` : nothing}
      ${count
        ? BULK_ACTIONS.map(
            (action) => html`<button class=${BULK_LABELS[action].danger ? 'danger' : ''}
              @click=${() => (this.dialog = { kind: 'bulk', action })}>${t(BULK_LABELS[action].label)}…</button>`,
          )
        : nothing}
    </div>`;
  }

  private pager(users: Page<UserRow>) {
    const pages = Math.max(1, Math.ceil(users.total / users.per_page));
    return html`<nav class="pager" aria-label=${t('usersTable.pages')}>
      <button class="secondary" ?disabled=${users.page <= 1} @click=${() => this.go({ page: users.page - 1 })}>${t('common.previous')}</button>
      <span>${t('common.page')} ${users.page} / ${pages} · ${users.total} ${t('users.count')}</span>
      <button class="secondary" ?disabled=${users.page >= pages} @click=${() => this.go({ page: users.page + 1 })}>${t('common.next')}</button>
    </nav>`;
  }

  private renderDialog(enabled: Plan[]) {
    const dialog = this.dialog;
    if (dialog?.kind === 'import') return html`<bf-users-import @bf-changed=${this.reload} @bf-closed=${this.closeDialog}></bf-users-import>`;
    if (dialog?.kind === 'new') return html`<bf-new-customer .plans=${enabled} @bf-changed=${this.created} @bf-closed=${this.closeNew}></bf-new-customer>`;
    if (dialog?.kind === 'bulk') {
      const target = this.allMatching ? { filter: filterOf(this.state) } : { ids: [...this.selection] };
      return html`<bf-users-bulk .action=${dialog.action} .target=${target} .plans=${enabled} @bf-changed=${this.bulkRan} @bf-closed=${this.closeDialog}></bf-users-bulk>`;
    }
    return nothing;
  }

  override render() {
    const users = this.users.value;
    const plans = this.plans.value ?? [];
    const enabled = plans.filter((p) => p.is_enabled);
    const canEdit = may(this.adminRole, 'operator');
    const filtered = Object.keys(filterOf(this.state)).length > 0;
    return html`
      <h2>${t('users.title')}</h2>
      <div class="row">
        ${canEdit ? html`<button @click=${() => (this.dialog = { kind: 'new' })}>${t('newCustomer.open')}</button>` : nothing}
        <button class="secondary" ?disabled=${this.exporting.busy} @click=${() => this.export('csv')}>${t('users.exportCsv')}</button>
        <button class="secondary" ?disabled=${this.exporting.busy} @click=${() => this.export('json')}>${t('users.exportJson')}</button>
        ${canEdit ? html`<button class="secondary" @click=${() => (this.dialog = { kind: 'import' })}>${t('users.import')}</button>` : nothing}
      </div>
      ${this.exporting.status()}
      ${this.selected !== null
        ? html`<bf-user-detail .userId=${this.selected} .adminRole=${this.adminRole} @bf-changed=${this.reload}></bf-user-detail>`
        : nothing}
      ${this.filters(plans)}
      ${this.users.status()}
      ${users?.items.length === 0 ? html`<p>${filtered ? t('users.noMatch') : t('users.empty')}</p>` : nothing}
      ${users?.items.length
        ? html`${canEdit ? this.bulkBar(users.total) : nothing}
            <bf-users-table .rows=${users.items} .state=${this.state} .selection=${this.selection} .openId=${this.selected}
              ?selectable=${canEdit} ?allMatching=${this.allMatching} .linkOf=${(id: number) => tableHash(this.state, id)}
              @bf-sort=${(e: CustomEvent<TableState['sort']>) => this.go({ sort: e.detail, page: this.state.page })}
              @bf-selection=${(e: CustomEvent<number[]>) => (this.selection = new Set(e.detail))}></bf-users-table>
            ${this.pager(users)}`
        : nothing}
      ${this.renderDialog(enabled)}
    `;
  }
}

customElements.define('bf-users', BfUsers);

// <bf-users>: the proxy users — search, paging, create, export and import; choosing one opens its
// subscription below.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import type { Page } from '../data/http.js';
import { createUser, exportUsers, listUsers, type User, type UsersFormat } from '../data/users.js';
import { t } from '../i18n.js';
import '../widgets/bf-schema-form.js';
import type { BfSchemaForm } from '../widgets/bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import '../widgets/bf-user-detail.js';
import '../widgets/bf-users-import.js';
import type { FormSubmitEvent } from '../ui/events.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { formatDate } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

const PER_PAGE = 20;

/** What POST /api/v1/users takes. */
const NEW_USER: JsonSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$', maxLength: 64 },
    note: { type: 'string', maxLength: 500 },
  },
};

export class BfUsers extends LocalizedElement {
  static override properties = {
    adminRole: {},
    q: { state: true },
    page: { state: true },
    selected: { attribute: false },
    importing: { state: true },
  };
  adminRole: Role = 'viewer';
  private readonly users = new Loader<Page<User>>(this, () => listUsers({ q: this.q, page: this.page, per_page: PER_PAGE }));
  q = '';
  page = 1;
  /** The user whose subscription shows beside the list. */
  selected: number | null = null;
  private readonly creating = new Changes(this);
  /** Whether the Import dialog is open. */
  importing = false;
  private readonly exporting = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      .layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; align-items: start; }
      @media (max-width: 900px) { .layout { grid-template-columns: minmax(0, 1fr); } }
      tr.selected td { background: #eef3ff; }
      .search input { flex: 1; min-width: 120px; }
      @media (max-width: 600px) { .note, .created { display: none; } }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.users.load();
  }

  private search(event: SubmitEvent) {
    event.preventDefault();
    this.q = String(new FormData(event.target as HTMLFormElement).get('q') ?? '').trim();
    this.page = 1;
    void this.users.load();
  }

  private go(page: number) {
    this.page = page;
    void this.users.load();
  }

  private create(event: FormSubmitEvent) {
    // Read now: once the event has gone up to the window, its target is the shell.
    const form = event.target as BfSchemaForm;
    void this.creating.run(async () => {
      const user = await createUser(event.detail as { name: string; note?: string });
      // The address names the open user, so a reload or a shared link shows the same.
      location.hash = `#/users/${user.id}`;
      form.reset();
      await this.users.load({ keep: true });
    });
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

  private pager(users: Page<User>) {
    const pages = Math.max(1, Math.ceil(users.total / users.per_page));
    return html`<div class="pager">
      <button class="secondary" ?disabled=${users.page <= 1} @click=${() => this.go(users.page - 1)}>${t('common.previous')}</button>
      <span>${t('common.page')} ${users.page} / ${pages} · ${users.total} ${t('users.count')}</span>
      <button class="secondary" ?disabled=${users.page >= pages} @click=${() => this.go(users.page + 1)}>${t('common.next')}</button>
    </div>`;
  }

  override render() {
    const users = this.users.value;
    const canEdit = may(this.adminRole, 'operator');
    return html`
      <h2>${t('users.title')}</h2>
      <div class="layout">
        <div>
          <form class="row search" role="search" @submit=${this.search}>
            <input name="q" type="search" .value=${this.q} placeholder=${t('users.searchPlaceholder')} aria-label=${t('users.search')} />
            <button type="submit">${t('users.search')}</button>
          </form>
          <div class="row">
            <button class="secondary" ?disabled=${this.exporting.busy} @click=${() => this.export('csv')}>${t('users.exportCsv')}</button>
            <button class="secondary" ?disabled=${this.exporting.busy} @click=${() => this.export('json')}>${t('users.exportJson')}</button>
            ${canEdit ? html`<button class="secondary" @click=${() => (this.importing = true)}>${t('users.import')}</button>` : nothing}
          </div>
          ${this.exporting.status()}
          ${this.users.status()}
          ${users?.items.length === 0 ? html`<p>${this.q ? t('users.noMatch') : t('users.empty')}</p>` : nothing}
          ${users?.items.length
            ? html`<div class="scroll"><table>
                  <thead><tr><th>${t('users.name')}</th><th>${t('users.status')}</th><th class="note">${t('users.note')}</th><th class="created">${t('users.created')}</th></tr></thead>
                  <tbody>
                    ${users.items.map(
                      (u) => html`<tr class=${u.id === this.selected ? 'selected' : ''}>
                        <td><a href="#/users/${u.id}">${u.name}</a> <a class="muted" href="#/users/${u.id}/usage" aria-label="${t('users.usage')} · ${u.name}">${t('users.usage')}</a></td>
                        <td><span class="badge ${u.status}">${t(u.status === 'active' ? 'users.active' : 'users.disabled')}</span></td>
                        <td class="note">${u.note}</td>
                        <td class="created">${formatDate(u.created_at)}</td>
                      </tr>`,
                    )}
                  </tbody>
                </table></div>
                ${this.pager(users)}`
            : nothing}
        </div>
        <div>
          ${this.selected !== null
            ? html`<bf-user-detail .userId=${this.selected} .adminRole=${this.adminRole} @bf-changed=${() => this.users.load({ keep: true })}></bf-user-detail>`
            : nothing}
          ${canEdit
            ? html`<section class="card">
                <h3>${t('users.create')}</h3>
                <bf-schema-form .schema=${NEW_USER} .labels=${{ name: t('users.name'), note: t('users.note') }}
                  .submitLabel=${t('users.create')} ?busy=${this.creating.busy} @bf-submit=${this.create}></bf-schema-form>
                ${this.creating.status()}
              </section>`
            : nothing}
        </div>
      </div>
      ${this.importing
        ? html`<bf-users-import @bf-changed=${() => this.users.load({ keep: true })} @bf-closed=${() => (this.importing = false)}></bf-users-import>`
        : nothing}
    `;
  }
}

customElements.define('bf-users', BfUsers);

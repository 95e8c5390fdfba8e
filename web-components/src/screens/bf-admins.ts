// <bf-admins> (owner only): the accounts that sign in to the hub, a form to add one, and changing
// one's role or password, disabling, enabling and deleting it; disable and delete ask first. The hub
// refuses to delete your own account or to lose the last enabled owner, and says so here.
import { css, html, nothing } from 'lit';
import { type Role } from '../../../agent-core/common/roles.js';
import { createAdminAccount, deleteAdminAccount, listAdmins, updateAdminAccount, type AdminAccount } from '../data/admins.js';
import type { Admin } from '../data/auth.js';
import { t } from '../i18n.js';
import '../widgets/bf-schema-form.js';
import type { BfSchemaForm } from '../widgets/bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import type { FormSubmitEvent } from '../ui/events.js';
import { formatTime } from '../ui/format.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

const ROLE: JsonSchema = { type: 'string', enum: ['viewer', 'operator', 'admin', 'owner'], default: 'viewer' };
const PASSWORD: JsonSchema = { type: 'string', format: 'password', minLength: 10, maxLength: 200 };

/** POST /api/v1/admins. */
const NEW_ADMIN: JsonSchema = {
  type: 'object',
  required: ['username', 'password', 'role'],
  properties: {
    username: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$', minLength: 2, maxLength: 64 },
    password: PASSWORD,
    role: ROLE,
  },
};

/** PATCH /api/v1/admins/:id from the edit form: the role, and the password only when a new one is typed. */
const CHANGE_ADMIN: JsonSchema = { type: 'object', required: ['role'], properties: { role: ROLE, password: PASSWORD } };

export class BfAdmins extends LocalizedElement {
  static override properties = { me: { attribute: false }, editing: { state: true } };
  /** The signed-in owner: their own account cannot be disabled or deleted from here. */
  me: Admin | null = null;
  /** The account whose form shows in place of the create form. */
  editing: AdminAccount | null = null;
  private readonly admins = new Loader<AdminAccount[]>(this, listAdmins);
  private readonly creating = new Changes(this);
  private readonly saving = new Changes(this);
  /** Disabling, enabling and deleting, from the table. */
  private readonly changes = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      @media (max-width: 600px) { .last-login { display: none; } }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.admins.load();
  }

  private create(event: FormSubmitEvent) {
    // Read now: once the event has gone up to the window, its target is the shell.
    const form = event.target as BfSchemaForm;
    void this.creating.run(async () => {
      await createAdminAccount(event.detail as { username: string; password: string; role: Role });
      form.reset();
      await this.admins.load({ keep: true });
    });
  }

  private edit(admin: AdminAccount) {
    this.saving.error = '';
    this.editing = admin;
  }

  private save(admin: AdminAccount, event: FormSubmitEvent) {
    const patch = event.detail as { role: Role; password?: string };
    if (admin.id === this.me?.id && patch.role !== 'owner') {
      // Giving up the owner role closes this screen: sign the session in afresh with the new role.
      this.changes.confirm(t('admins.confirmDemoteSelf').replace('{role}', patch.role), t('edit.save'), async () => {
        await updateAdminAccount(admin.id, patch);
        location.reload();
      });
      return;
    }
    void this.saving.run(async () => {
      await updateAdminAccount(admin.id, patch);
      this.editing = null;
      await this.admins.load({ keep: true });
    });
  }

  /** A change from the table that, once made, shows the accounts afresh. */
  private change(run: () => Promise<unknown>) {
    return async () => {
      await run();
      await this.admins.load({ keep: true });
    };
  }

  private askDisable(admin: AdminAccount) {
    const change = this.change(() => updateAdminAccount(admin.id, { disabled: true }));
    this.changes.confirm(t('admins.confirmDisable').replace('{admin}', admin.username), t('edit.disable'), change);
  }

  private askDelete(admin: AdminAccount) {
    const change = this.change(async () => {
      await deleteAdminAccount(admin.id);
      if (this.editing?.id === admin.id) this.editing = null;
    });
    this.changes.confirm(t('admins.confirmDelete').replace('{admin}', admin.username), t('edit.delete'), change);
  }

  private actions(admin: AdminAccount) {
    const busy = this.changes.busy;
    if (admin.id === this.me?.id) {
      return html`<td class="actions"><button class="secondary" @click=${() => this.edit(admin)}>${t('edit.edit')}</button></td>`;
    }
    return html`<td class="actions">
      <button class="secondary" @click=${() => this.edit(admin)}>${t('edit.edit')}</button>
      ${admin.disabled
        ? html`<button class="secondary" ?disabled=${busy} @click=${() => this.changes.run(this.change(() => updateAdminAccount(admin.id, { disabled: false })))}>${t('edit.enable')}</button>`
        : html`<button class="danger" ?disabled=${busy} @click=${() => this.askDisable(admin)}>${t('edit.disable')}</button>`}
      <button class="danger" ?disabled=${busy} @click=${() => this.askDelete(admin)}>${t('edit.delete')}</button>
    </td>`;
  }

  private form(admin: AdminAccount | null) {
    return admin
      ? html`<section class="card" data-edit-admin=${admin.id}>
          <h3>${t('admins.edit')}: ${admin.username}</h3>
          <bf-schema-form .schema=${CHANGE_ADMIN} .value=${{ role: admin.role }} .submitLabel=${t('edit.save')}
            .labels=${{ role: t('admins.role'), password: t('admins.newPassword') }}
            ?busy=${this.saving.busy} @bf-submit=${(event: FormSubmitEvent) => this.save(admin, event)}>
            <button class="secondary" @click=${() => (this.editing = null)}>${t('edit.cancel')}</button>
          </bf-schema-form>
          ${this.saving.status()}
        </section>`
      : html`<section class="card">
          <h3>${t('admins.create')}</h3>
          <bf-schema-form .schema=${NEW_ADMIN} .submitLabel=${t('admins.create')} ?busy=${this.creating.busy} @bf-submit=${this.create}
            .labels=${{ username: t('login.username'), password: t('login.password'), role: t('admins.role') }}></bf-schema-form>
          ${this.creating.status()}
        </section>`;
  }

  override render() {
    const admins = this.admins.value;
    return html`
      <h2>${t('admins.title')}</h2>
      ${this.admins.status()}
      ${admins?.length
        ? html`<div class="scroll"><table>
            <thead><tr><th>${t('login.username')}</th><th>${t('admins.role')}</th><th class="last-login">${t('admins.lastLogin')}</th><th></th></tr></thead>
            <tbody>
              ${admins.map(
                (a) => html`<tr data-admin=${a.username}>
                  <td>${a.username} ${a.id === this.me?.id ? html`<span class="muted">(${t('admins.you')})</span>` : nothing}
                    ${a.disabled ? html`<span class="badge disabled">${t('admins.disabled')}</span>` : nothing}</td>
                  <td>${a.role}</td>
                  <td class="last-login">${a.last_login_at ? formatTime(a.last_login_at) : '—'}</td>
                  ${this.actions(a)}
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}
      ${this.changes.status()}
      ${this.changes.dialog()}
      ${this.form(this.editing)}
    `;
  }
}

customElements.define('bf-admins', BfAdmins);

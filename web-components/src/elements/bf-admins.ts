// <bf-admins> (owner only): the accounts that sign in to the hub, and a form to add one.
import { html, nothing } from 'lit';
import { createAdminAccount, listAdmins, type AdminAccount, type Role } from '../data/api.js';
import { t } from '../i18n.js';
import './bf-schema-form.js';
import type { BfSchemaForm } from './bf-schema-form.js';
import { Changes } from './changes.js';
import type { FormSubmitEvent } from './events.js';
import { formatTime } from './format.js';
import type { JsonSchema } from './json-schema.js';
import { Loader } from './loader.js';
import { LocalizedElement } from './localized-element.js';
import { screenStyles } from './shared-styles.js';

/** POST /api/v1/admins. */
const NEW_ADMIN: JsonSchema = {
  type: 'object',
  required: ['username', 'password', 'role'],
  properties: {
    username: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$', minLength: 2, maxLength: 64 },
    password: { type: 'string', format: 'password', minLength: 10, maxLength: 200 },
    role: { type: 'string', enum: ['viewer', 'operator', 'admin', 'owner'], default: 'viewer' },
  },
};

export class BfAdmins extends LocalizedElement {
  private readonly admins = new Loader<AdminAccount[]>(this, listAdmins);
  private readonly creating = new Changes(this);

  static override styles = [screenStyles];

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

  override render() {
    const admins = this.admins.value;
    return html`
      <h2>${t('admins.title')}</h2>
      ${this.admins.status()}
      ${admins?.length
        ? html`<div class="scroll"><table>
            <thead><tr><th>${t('login.username')}</th><th>${t('admins.role')}</th><th>${t('admins.lastLogin')}</th></tr></thead>
            <tbody>
              ${admins.map(
                (a) => html`<tr>
                  <td>${a.username} ${a.disabled ? html`<span class="badge disabled">${t('admins.disabled')}</span>` : nothing}</td>
                  <td>${a.role}</td>
                  <td>${a.last_login_at ? formatTime(a.last_login_at) : '—'}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}
      <section class="card">
        <h3>${t('admins.create')}</h3>
        <bf-schema-form .schema=${NEW_ADMIN} .submitLabel=${t('admins.create')} ?busy=${this.creating.busy} @bf-submit=${this.create}
          .labels=${{ username: t('login.username'), password: t('login.password'), role: t('admins.role') }}></bf-schema-form>
        ${this.creating.status()}
      </section>
    `;
  }
}

customElements.define('bf-admins', BfAdmins);

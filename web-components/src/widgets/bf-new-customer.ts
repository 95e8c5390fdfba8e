// <bf-new-customer>: the Users screen's "New customer" dialog. Name, note and a plan starting now or
// on a given day, created in one call; then the subscription link with its QR code and the portal
// link, each to copy. Sends `bf-changed` (detail: the new user's id) once created, `bf-closed` when closed.
import { css, html, nothing } from 'lit';
import type { Plan } from '../data/plans.js';
import { createUser, getUserLinks, type UserDetail } from '../data/users.js';
import { t } from '../i18n.js';
import { Changes } from '../ui/changes.js';
import { CHANGED, CLOSED } from '../ui/events.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { dialogStyles, formStyles, screenStyles } from '../ui/shared-styles.js';
import { dialogFocus } from '../ui/dialog.js';
import './bf-copy-button.js';

/** What POST /api/v1/users accepts as a name. */
const NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9_.@\\-]{0,63}';

interface Created {
  user: UserDetail;
  links: { sub_token: string; subscription_url: string; portal_url: string };
}

export class BfNewCustomer extends LocalizedElement {
  static override properties = { plans: { attribute: false }, onDate: { state: true }, created: { state: true } };
  /** The enabled plans to choose from. */
  plans: Plan[] = [];
  /** Whether the plan starts on a chosen day instead of now. */
  onDate = false;
  created: Created | null = null;
  private readonly changes = new Changes(this);

  constructor() {
    super();
    dialogFocus(this, { close: () => this.close() });
  }

  static override styles = [
    screenStyles,
    dialogStyles,
    formStyles,
    css`
      .link + label[for] { margin-top: 8px; }
      fieldset { border: 1px solid var(--bf-border); border-radius: 4px; display: grid; gap: 6px; font-size: 14px; }
      fieldset label { display: flex; gap: 6px; align-items: center; }
      .link { display: flex; gap: 8px; align-items: center; }
      .link input { flex: 1; min-width: 0; }
      img { display: block; width: 200px; height: 200px; margin: 8px auto; }
    `,
  ];

  private send(name: string, detail?: number) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  private submit(event: SubmitEvent) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const planId = Number(data.get('plan'));
    const day = String(data.get('start_day') ?? '');
    // A chosen day starts at its midnight where the admin is.
    const plan = planId ? { id: planId, ...(this.onDate && day ? { start_time: new Date(`${day}T00:00:00`).toISOString() } : {}) } : undefined;
    const note = String(data.get('note') ?? '').trim();
    void this.changes.run(async () => {
      const user = await createUser({ name: String(data.get('name')).trim(), ...(note ? { note } : {}), ...(plan ? { plan } : {}) });
      this.send(CHANGED, user.id);
      this.created = { user, links: await getUserLinks(user.id) };
    });
  }

  override updated(changed: Map<string, unknown>) {
    // The links replace the form: focus goes to the first of them.
    if (changed.has('created') && this.created) this.renderRoot.querySelector<HTMLElement>('#subscription-link')?.focus();
  }

  private close() {
    if (!this.changes.busy) this.send(CLOSED);
  }

  private form() {
    return html`<form @submit=${this.submit}>
      <label>${t('users.name')}<input name="name" required maxlength="64" pattern=${NAME_PATTERN} autocomplete="off" /></label>
      <label>${t('users.note')}<input name="note" maxlength="500" autocomplete="off" /></label>
      <label for="plan">${t('newCustomer.plan')}</label>
      <select id="plan" name="plan">
        ${this.plans.map((p, i) => html`<option value=${p.id} ?selected=${i === 0}>${p.name}</option>`)}
        <option value="">${t('newCustomer.noPlan')}</option>
      </select>
      <fieldset>
        <legend>${t('newCustomer.starts')}</legend>
        <label><input type="radio" name="start" value="now" .checked=${!this.onDate} @change=${() => (this.onDate = false)} />${t('newCustomer.now')}</label>
        <label><input type="radio" name="start" value="date" .checked=${this.onDate} @change=${() => (this.onDate = true)} />${t('newCustomer.onDate')}</label>
        ${this.onDate ? html`<label>${t('newCustomer.day')}<input name="start_day" type="date" required /></label>` : nothing}
      </fieldset>
      <div class="actions">
        <button class="secondary" type="button" @click=${this.close}>${t('edit.cancel')}</button>
        <button type="submit" ?disabled=${this.changes.busy}>${t('users.create')}</button>
      </div>
    </form>`;
  }

  private result({ user, links }: Created) {
    const plan = user.subscription ? this.plans.find((p) => p.id === user.subscription!.plan_id)?.name : undefined;
    return html`<p role="status">${(plan ? t('newCustomer.readyWithPlan').replace('{plan}', plan) : t('newCustomer.ready')).replace('{user}', user.name)}</p>
      <label for="subscription-link">${t('newCustomer.subscriptionLink')}</label>
      <div class="link"><input id="subscription-link" readonly .value=${links.subscription_url} /><bf-copy-button .value=${links.subscription_url}></bf-copy-button></div>
      <img src="/sub/${encodeURIComponent(links.sub_token)}/qr.svg" alt=${t('newCustomer.qr')} />
      <label for="portal-link">${t('newCustomer.portalLink')}</label>
      <div class="link"><input id="portal-link" readonly .value=${links.portal_url} /><bf-copy-button .value=${links.portal_url}></bf-copy-button></div>
      <div class="actions"><button @click=${this.close}>${t('common.close')}</button></div>`;
  }

  override render() {
    return html`<div class="backdrop">
      <div class="dialog wide" role="dialog" aria-modal="true" aria-labelledby="new-customer-title">
        <h3 id="new-customer-title">${t('newCustomer.title')}</h3>
        ${this.created ? this.result(this.created) : this.form()}
        ${this.changes.status()}
      </div>
    </div>`;
  }
}

customElements.define('bf-new-customer', BfNewCustomer);

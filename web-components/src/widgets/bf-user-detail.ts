// <bf-user-detail>: one user — their note and status, editing, disabling and deleting them — and
// their current subscription, assigning a plan, and the subscription's actions; disable, delete,
// suspend, reset traffic and cancel ask first. Sends `bf-changed` after a change.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { listPlans, type Plan } from '../data/plans.js';
import { assignPlan, changeSubscription, type SubscriptionAction } from '../data/subscriptions.js';
import { deleteUser, getUser, updateUser, type UserDetail } from '../data/users.js';
import { t, type MessageKey } from '../i18n.js';
import './bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import { CHANGED, type FormSubmitEvent } from '../ui/events.js';
import { formatBytes, formatTime } from '../ui/format.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

const ACTIONS: { action: SubscriptionAction; label: MessageKey; confirm?: MessageKey; when: (s: UserDetail['subscription'] & {}) => boolean }[] = [
  { action: 'renew', label: 'sub.renew', when: (s) => s.status !== 'cancelled' },
  { action: 'suspend', label: 'sub.suspend', confirm: 'sub.confirmSuspend', when: (s) => s.status === 'active' },
  { action: 'resume', label: 'sub.resume', when: (s) => s.status === 'suspended' && s.suspended_reason !== 'quota' },
  { action: 'reset-traffic', label: 'sub.resetTraffic', confirm: 'sub.confirmReset', when: (s) => s.status !== 'cancelled' },
  { action: 'cancel', label: 'sub.cancel', confirm: 'sub.confirmCancel', when: (s) => s.status !== 'cancelled' },
];

/** What the detail edits with PATCH /api/v1/users/:id (the name cannot change). */
const USER_NOTE: JsonSchema = { type: 'object', properties: { note: { type: 'string', maxLength: 500 } } };

const STATUS_LABEL: Record<string, MessageKey> = {
  active: 'sub.active',
  suspended: 'sub.suspended',
  expired: 'sub.expired',
  cancelled: 'sub.cancelled',
};

export class BfUserDetail extends LocalizedElement {
  static override properties = { userId: { type: Number }, adminRole: {}, editingNote: { state: true } };
  userId = 0;
  adminRole: Role = 'viewer';
  editingNote = false;
  /** Loaded again after each change, without the plans. */
  private readonly user = new Loader<UserDetail>(this, () => getUser(this.userId));
  private readonly plans = new Loader<Plan[]>(this, listPlans);
  private readonly changes = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0 0 8px; font-size: 14px; }
      dt { color: var(--bf-faint); }
      dd { margin: 0; }
      h3 { margin-top: 0; }
    `,
  ];

  override willUpdate(changed: Map<string, unknown>) {
    if (!changed.has('userId')) return;
    this.changes.error = '';
    this.editingNote = false;
    void this.user.load();
    void this.plans.load();
  }

  /** A change of this user that, once made, shows the user afresh and tells the list. */
  private change(run: () => Promise<unknown>) {
    return async () => {
      await run();
      await this.user.load({ keep: true });
      this.tellList();
    };
  }

  private tellList() {
    this.dispatchEvent(new CustomEvent(CHANGED, { bubbles: true, composed: true }));
  }

  private saveNote(event: FormSubmitEvent) {
    // The form leaves an emptied note out of its value; sending '' is what clears it.
    const note = String(event.detail.note ?? '');
    void this.changes.run(
      this.change(async () => {
        await updateUser(this.userId, { note });
        this.editingNote = false;
      }),
    );
  }

  private askDisable(user: UserDetail) {
    const change = this.change(() => updateUser(user.id, { status: 'disabled' }));
    this.changes.confirm(t('users.confirmDisable').replace('{user}', user.name), t('edit.disable'), change);
  }

  private askDelete(user: UserDetail) {
    this.changes.confirm(t('users.confirmDelete').replace('{user}', user.name), t('edit.delete'), async () => {
      await deleteUser(user.id);
      this.tellList();
      // The address named the user; without it the detail closes.
      location.hash = '#/users';
    });
  }

  /** Editing the note, disabling or enabling, deleting: for operators and up. */
  private userActions(user: UserDetail) {
    const busy = this.changes.busy;
    return html`${this.editingNote
        ? html`<bf-schema-form .schema=${USER_NOTE} .value=${{ note: user.note }} .labels=${{ note: t('users.note') }}
            .submitLabel=${t('edit.save')} ?busy=${busy} @bf-submit=${this.saveNote}>
            <button class="secondary" @click=${() => (this.editingNote = false)}>${t('edit.cancel')}</button>
          </bf-schema-form>`
        : nothing}
      <div class="row">
        ${this.editingNote ? nothing : html`<button class="secondary" @click=${() => (this.editingNote = true)}>${t('users.editNote')}</button>`}
        ${user.status === 'disabled'
          ? html`<button class="secondary" ?disabled=${busy} @click=${() => this.changes.run(this.change(() => updateUser(user.id, { status: 'active' })))}>${t('edit.enable')}</button>`
          : html`<button class="danger" ?disabled=${busy} @click=${() => this.askDisable(user)}>${t('edit.disable')}</button>`}
        <button class="danger" ?disabled=${busy} @click=${() => this.askDelete(user)}>${t('edit.delete')}</button>
      </div>`;
  }

  private assign(event: SubmitEvent) {
    event.preventDefault();
    const planId = Number(new FormData(event.target as HTMLFormElement).get('plan'));
    void this.changes.run(this.change(() => assignPlan(this.userId, planId)));
  }

  private act(entry: (typeof ACTIONS)[number], subscriptionId: number, userName: string) {
    const change = this.change(() => changeSubscription(subscriptionId, entry.action));
    if (entry.confirm) this.changes.confirm(t(entry.confirm).replace('{user}', userName), t(entry.label), change);
    else void this.changes.run(change);
  }

  override render() {
    const user = this.user.value;
    if (!user) return html`<section class="card">${this.user.status()}</section>`;
    const s = user.subscription;
    const canEdit = may(this.adminRole, 'operator');
    const live = s && (s.status === 'active' || s.status === 'suspended');
    const plans = this.plans.value;
    const plan = s ? plans?.find((p) => p.id === s.plan_id) : undefined;
    const enabled = plans?.filter((p) => p.is_enabled) ?? [];
    return html`<section class="card" aria-label=${user.name}>
      ${this.user.status()}
      <h3>${user.name} <span class="badge ${user.status}" data-user-status=${user.status}>${t(user.status === 'active' ? 'users.active' : 'users.disabled')}</span></h3>
      ${user.note ? html`<p class="muted" data-note>${user.note}</p>` : nothing}
      ${canEdit ? this.userActions(user) : nothing}
      <h4>${t('sub.title')}</h4>
      ${this.plans.status()}
      ${s
        ? html`<dl data-subscription=${s.id}>
            <dt>${t('sub.plan')}</dt><dd>${plan?.name ?? `#${s.plan_id}`}</dd>
            <dt>${t('sub.status')}</dt>
            <dd><span class="badge ${s.status}" data-status=${s.status}>${t(STATUS_LABEL[s.status]!)}</span>
              ${s.suspended_reason ? html`<span class="muted">(${t(s.suspended_reason === 'quota' ? 'sub.reasonQuota' : 'sub.reasonAdmin')})</span>` : nothing}</dd>
            <dt>${t('sub.traffic')}</dt><dd>${formatBytes(s.traffic_used_bytes)} / ${formatBytes(s.traffic_total_bytes)}</dd>
            <dt>${t('sub.ends')}</dt><dd>${formatTime(s.end_time)}</dd>
          </dl>`
        : html`<p class="muted">${t('sub.none')}</p>`}
      ${canEdit && s
        ? html`<div class="row">
            ${ACTIONS.filter((a) => a.when(s)).map(
              (a) => html`<button class=${a.confirm ? 'danger' : 'secondary'} ?disabled=${this.changes.busy} @click=${() => this.act(a, s.id, user.name)}>${t(a.label)}</button>`,
            )}
          </div>`
        : nothing}
      ${canEdit && !live && plans
        ? enabled.length
          ? html`<form class="row" @submit=${this.assign}>
              <label>${t('sub.assignPlan')}
                <select name="plan" required aria-label=${t('sub.assignPlan')}>${enabled.map((p) => html`<option value=${p.id}>${p.name}</option>`)}</select></label>
              <button type="submit" ?disabled=${this.changes.busy}>${t('sub.assign')}</button>
            </form>`
          : html`<p class="muted">${t('sub.noPlans')} <a href="#/plans">${t('nav.plans')}</a></p>`
        : nothing}
      ${this.changes.status()}
      ${this.changes.dialog()}
    </section>`;
  }
}

customElements.define('bf-user-detail', BfUserDetail);

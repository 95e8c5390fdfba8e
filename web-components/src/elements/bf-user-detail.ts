// <bf-user-detail>: one user's current subscription, assigning a plan, and the subscription's
// actions; suspend, reset traffic and cancel ask first. Sends `bf-changed` after a change.
import { css, html, nothing } from 'lit';
import {
  assignPlan,
  changeSubscription,
  getUser,
  listPlans,
  may,
  type Plan,
  type Role,
  type SubscriptionAction,
  type UserDetail,
} from '../data/api.js';
import { t, type MessageKey } from '../i18n.js';
import { Changes } from './changes.js';
import { CHANGED } from './events.js';
import { formatBytes, formatTime } from './format.js';
import { Loader } from './loader.js';
import { LocalizedElement } from './localized-element.js';
import { screenStyles } from './shared-styles.js';

const ACTIONS: { action: SubscriptionAction; label: MessageKey; confirm?: MessageKey; when: (s: UserDetail['subscription'] & {}) => boolean }[] = [
  { action: 'renew', label: 'sub.renew', when: (s) => s.status !== 'cancelled' },
  { action: 'suspend', label: 'sub.suspend', confirm: 'sub.confirmSuspend', when: (s) => s.status === 'active' },
  { action: 'resume', label: 'sub.resume', when: (s) => s.status === 'suspended' && s.suspended_reason !== 'quota' },
  { action: 'reset-traffic', label: 'sub.resetTraffic', confirm: 'sub.confirmReset', when: (s) => s.status !== 'cancelled' },
  { action: 'cancel', label: 'sub.cancel', confirm: 'sub.confirmCancel', when: (s) => s.status !== 'cancelled' },
];

const STATUS_LABEL: Record<string, MessageKey> = {
  active: 'sub.active',
  suspended: 'sub.suspended',
  expired: 'sub.expired',
  cancelled: 'sub.cancelled',
};

export class BfUserDetail extends LocalizedElement {
  static override properties = { userId: { type: Number }, adminRole: {} };
  userId = 0;
  adminRole: Role = 'viewer';
  /** Loaded again after each change, without the plans. */
  private readonly user = new Loader<UserDetail>(this, () => getUser(this.userId));
  private readonly plans = new Loader<Plan[]>(this, listPlans);
  private readonly changes = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0 0 8px; font-size: 14px; }
      dt { color: #6b7280; }
      dd { margin: 0; }
      h3 { margin-top: 0; }
    `,
  ];

  override willUpdate(changed: Map<string, unknown>) {
    if (!changed.has('userId')) return;
    this.changes.error = '';
    void this.user.load();
    void this.plans.load();
  }

  /** A change of this user that, once made, shows the user afresh and tells the list. */
  private change(run: () => Promise<unknown>) {
    return async () => {
      await run();
      await this.user.load({ keep: true });
      this.dispatchEvent(new CustomEvent(CHANGED, { bubbles: true, composed: true }));
    };
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
      <h3>${user.name}</h3>
      ${user.note ? html`<p class="muted">${user.note}</p>` : nothing}
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

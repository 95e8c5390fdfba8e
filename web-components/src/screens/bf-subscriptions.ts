// <bf-subscriptions>: every subscription, newest first, filtered by status, a page at a time.
import { html, nothing } from 'lit';
import type { Page } from '../data/http.js';
import { listPlans, type Plan } from '../data/plans.js';
import { listSubscriptions, type Subscription, type SubscriptionStatus } from '../data/subscriptions.js';
import { t, type MessageKey } from '../i18n.js';
import { formatBytes, formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

const PER_PAGE = 50;
const STATUSES: { status: SubscriptionStatus; label: MessageKey }[] = [
  { status: 'active', label: 'sub.active' },
  { status: 'suspended', label: 'sub.suspended' },
  { status: 'expired', label: 'sub.expired' },
  { status: 'cancelled', label: 'sub.cancelled' },
];

export class BfSubscriptions extends LocalizedElement {
  static override properties = { status: { state: true }, page: { state: true } };
  /** A page of subscriptions, with the plans to name theirs. */
  private readonly list = new Loader<[Page<Subscription>, Plan[]]>(this, () =>
    Promise.all([listSubscriptions({ status: this.status || undefined, page: this.page, per_page: PER_PAGE }), listPlans()]),
  );
  status: SubscriptionStatus | '' = '';
  page = 1;

  static override styles = [screenStyles];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.list.load();
  }

  private filter(event: Event) {
    this.status = (event.target as HTMLSelectElement).value as SubscriptionStatus | '';
    this.page = 1;
    void this.list.load();
  }

  private go(page: number) {
    this.page = page;
    void this.list.load();
  }

  override render() {
    const [list, plans = []] = this.list.value ?? [];
    const pages = list ? Math.max(1, Math.ceil(list.total / list.per_page)) : 1;
    const label = (status: SubscriptionStatus) => t(STATUSES.find((s) => s.status === status)!.label);
    return html`
      <h2>${t('subs.title')}</h2>
      <div class="row">
        <label>${t('sub.status')}
          <select @change=${this.filter}>
            <option value="">${t('common.all')}</option>
            ${STATUSES.map((s) => html`<option value=${s.status} ?selected=${s.status === this.status}>${t(s.label)}</option>`)}
          </select></label>
      </div>
      ${this.list.status()}
      ${list?.items.length === 0 ? html`<p>${t('subs.empty')}</p>` : nothing}
      ${list?.items.length
        ? html`<div class="scroll"><table>
              <thead><tr><th>#</th><th>${t('subs.user')}</th><th>${t('sub.plan')}</th><th>${t('sub.status')}</th><th>${t('sub.traffic')}</th><th>${t('sub.ends')}</th></tr></thead>
              <tbody>
                ${list.items.map(
                  (s) => html`<tr>
                    <td>${s.id}</td>
                    <td><a href="#/users/${s.user_id}">#${s.user_id}</a></td>
                    <td>${plans.find((p) => p.id === s.plan_id)?.name ?? `#${s.plan_id}`}</td>
                    <td><span class="badge ${s.status}">${label(s.status)}</span></td>
                    <td>${formatBytes(s.traffic_used_bytes)} / ${formatBytes(s.traffic_total_bytes)}</td>
                    <td>${formatTime(s.end_time)}</td>
                  </tr>`,
                )}
              </tbody>
            </table></div>
            <div class="pager">
              <button class="secondary" ?disabled=${list.page <= 1} @click=${() => this.go(list.page - 1)}>${t('common.previous')}</button>
              <span>${t('common.page')} ${list.page} / ${pages}</span>
              <button class="secondary" ?disabled=${list.page >= pages} @click=${() => this.go(list.page + 1)}>${t('common.next')}</button>
            </div>`
        : nothing}
    `;
  }
}

customElements.define('bf-subscriptions', BfSubscriptions);

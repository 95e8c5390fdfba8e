// <bf-users-bulk>: one bulk action on the users table's selection or on every user matching its
// filter. It first asks the hub how many users the action touches (a preview), says so and asks to
// go ahead (with the days or the plan the action needs), runs it in one call, then lists each user's
// result. Sends `bf-changed` after the run and `bf-closed` when closed.
import { css, html, nothing } from 'lit';
import type { Plan } from '../data/plans.js';
import { bulkUsers, type BulkAction, type BulkAnswer, type BulkRequest } from '../data/users.js';
import { t, type MessageKey } from '../i18n.js';
import { Changes } from '../ui/changes.js';
import { CHANGED, CLOSED } from '../ui/events.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { dialogStyles, formStyles, screenStyles } from '../ui/shared-styles.js';
import { dialogFocus } from '../ui/dialog.js';

/** Each action's button label and the question asked before it runs ({count}: the users it touches). */
export const BULK_LABELS: Record<BulkAction, { label: MessageKey; ask: MessageKey; danger: boolean }> = {
  extend: { label: 'bulk.extend', ask: 'bulk.askExtend', danger: false },
  reset_traffic: { label: 'bulk.resetTraffic', ask: 'bulk.askResetTraffic', danger: true },
  change_plan: { label: 'bulk.changePlan', ask: 'bulk.askChangePlan', danger: true },
  suspend: { label: 'bulk.suspend', ask: 'bulk.askSuspend', danger: true },
  resume: { label: 'bulk.resume', ask: 'bulk.askResume', danger: false },
  disable: { label: 'bulk.disable', ask: 'bulk.askDisable', danger: true },
  delete: { label: 'bulk.delete', ask: 'bulk.askDelete', danger: true },
};

const DEFAULT_DAYS = 30;

export class BfUsersBulk extends LocalizedElement {
  static override properties = {
    action: {},
    target: { attribute: false },
    plans: { attribute: false },
    count: { state: true },
    answer: { state: true },
  };
  action: BulkAction = 'extend';
  target: BulkRequest['target'] = { ids: [] };
  /** The enabled plans, for change_plan. */
  plans: Plan[] = [];
  /** How many users the action touches, once the preview answered. */
  count: number | null = null;
  /** The run's per-user results. */
  answer: BulkAnswer | null = null;
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
      .results { max-height: 40vh; overflow-y: auto; }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    // The preview needs a valid plan too; the count does not depend on which.
    void this.changes.run(async () => {
      this.count = (await bulkUsers(this.request(this.plans[0]?.id, DEFAULT_DAYS), true)).count;
    });
  }

  override updated(changed: Map<string, unknown>) {
    // The question or the results replace "Loading…": focus goes to their first control.
    if (changed.has('count') || changed.has('answer')) this.renderRoot.querySelector<HTMLElement>('input, select, button')?.focus();
  }

  private request(planId: number | undefined, days: number): BulkRequest {
    return {
      action: this.action,
      target: this.target,
      ...(this.action === 'extend' ? { days } : {}),
      ...(this.action === 'change_plan' ? { plan_id: planId } : {}),
    };
  }

  private send(name: string) {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }));
  }

  private run(event: SubmitEvent) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const body = this.request(Number(data.get('plan')) || undefined, Number(data.get('days')) || DEFAULT_DAYS);
    void this.changes.run(async () => {
      this.answer = await bulkUsers(body);
      this.send(CHANGED);
    });
  }

  private close() {
    if (!this.changes.busy) this.send(CLOSED);
  }

  private question(count: number) {
    const { label, ask, danger } = BULK_LABELS[this.action];
    return html`<form @submit=${this.run}>
      <p role="status" data-bulk-count=${count}>${t(ask).replace('{count}', String(count))}</p>
      ${this.action === 'extend'
        ? html`<label>${t('bulk.days')}<input name="days" type="number" min="1" max="3650" required .value=${String(DEFAULT_DAYS)} /></label>`
        : nothing}
      ${this.action === 'change_plan'
        ? html`<label for="plan">${t('bulk.plan')}</label>
            <select id="plan" name="plan" required>${this.plans.map((p) => html`<option value=${p.id}>${p.name}</option>`)}</select>`
        : nothing}
      <div class="actions">
        <button class="secondary" type="button" @click=${this.close}>${t('confirm.cancel')}</button>
        <button class=${danger ? 'danger' : ''} type="submit" ?disabled=${this.changes.busy || count === 0}>${t(label)}</button>
      </div>
    </form>`;
  }

  private results(answer: BulkAnswer) {
    return html`<p role="status">${t('bulk.done').replace('{ok}', String(answer.ok)).replace('{failed}', String(answer.failed))}</p>
      <div class="results"><table data-bulk-results>
        <thead><tr><th>${t('users.name')}</th><th>${t('bulk.result')}</th></tr></thead>
        <tbody>${answer.results.map(
          (r) => html`<tr data-result=${r.ok ? 'ok' : 'failed'}><td>${r.name || `#${r.id}`}</td><td class=${r.ok ? 'ok' : 'error'}>${r.ok ? `✓ ${t('bulk.rowDone')}` : r.error}</td></tr>`,
        )}</tbody>
      </table></div>
      <div class="actions"><button @click=${this.close}>${t('common.close')}</button></div>`;
  }

  override render() {
    const title = t(BULK_LABELS[this.action].label);
    return html`<div class="backdrop">
      <div class="dialog wide" role="dialog" aria-modal="true" aria-labelledby="users-bulk-title">
        <h3 id="users-bulk-title">${title}</h3>
        ${this.answer ? this.results(this.answer) : this.count === null ? (this.changes.busy ? html`<p>${t('common.loading')}</p>` : nothing) : this.question(this.count)}
        ${this.changes.status()}
        ${this.answer || this.count !== null ? nothing : html`<div class="actions"><button class="secondary" @click=${this.close}>${t('common.close')}</button></div>`}
      </div>
    </div>`;
  }
}

customElements.define('bf-users-bulk', BfUsersBulk);

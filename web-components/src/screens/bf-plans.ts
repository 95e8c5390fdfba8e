// <bf-plans>: the plans (traffic, duration, price, node tags, traffic reset) and, for admins, forms to add one and
// to edit one, and deleting one after asking (the hub refuses while a subscription uses it).
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { createPlan, deletePlan, listPlans, RESET_POLICIES, updatePlan, type NewPlan, type Plan, type ResetPolicy } from '../data/plans.js';
import { t, type MessageKey } from '../i18n.js';
import '../widgets/bf-schema-form.js';
import type { BfSchemaForm } from '../widgets/bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import type { FormSubmitEvent } from '../ui/events.js';
import { formatBytes } from '../ui/format.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

const GB = 1024 ** 3;

/** POST /api/v1/plans and PATCH /api/v1/plans/:id, with the traffic in GB as people write it (sent as bytes). */
const NEW_PLAN: JsonSchema = {
  type: 'object',
  required: ['name', 'traffic_gb', 'duration_days'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    traffic_gb: { type: 'number', minimum: 0 },
    duration_days: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
    price: { type: 'number', minimum: 0, default: 0 },
    node_tags: { type: 'array', items: { type: 'string' } },
    reset_policy: { type: 'string', enum: [...RESET_POLICIES], default: 'none' },
    reset_day: { type: 'integer', minimum: 1, maximum: 28 },
    is_enabled: { type: 'boolean', default: true },
  },
};

const RESET_LABELS: Record<ResetPolicy, MessageKey> = {
  none: 'plans.resetNone',
  daily: 'plans.resetDaily',
  weekly: 'plans.resetWeekly',
  monthly: 'plans.resetMonthly',
  rolling_30d: 'plans.resetRolling30d',
  yearly: 'plans.resetYearly',
};

const resetText = (p: Plan) =>
  p.reset_policy === 'monthly' && p.reset_day !== null ? t('plans.resetMonthlyOn').replace('{day}', String(p.reset_day)) : t(RESET_LABELS[p.reset_policy]);

/** A plan as the form shows and sends it. */
type PlanForm = Omit<NewPlan, 'traffic_limit_bytes'> & { traffic_gb: number };

/** The reset day goes only with a monthly plan (the hub refuses it with another policy, and drops it when the policy changes). */
const planOf = ({ traffic_gb, reset_day, ...rest }: PlanForm): NewPlan => ({
  ...rest,
  ...(rest.reset_policy === 'monthly' && reset_day !== undefined ? { reset_day } : {}),
  traffic_limit_bytes: Math.round(traffic_gb * GB),
});

/** A GB is 2^30 bytes, so the bytes divided and multiplied back are exact: saving changes no byte. */
const formOf = (p: Plan): PlanForm => ({
  name: p.name,
  traffic_gb: p.traffic_limit_bytes / GB,
  duration_days: p.duration_days,
  price: p.price,
  node_tags: p.node_tags,
  reset_policy: p.reset_policy,
  ...(p.reset_day === null ? {} : { reset_day: p.reset_day }),
  is_enabled: p.is_enabled,
});

export class BfPlans extends LocalizedElement {
  static override properties = { adminRole: {}, editing: { state: true } };
  adminRole: Role = 'viewer';
  /** The plan whose form shows in place of the create form. */
  editing: Plan | null = null;
  private readonly plans = new Loader<Plan[]>(this, listPlans);
  private readonly creating = new Changes(this);
  private readonly saving = new Changes(this);
  private readonly deleting = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      @media (max-width: 600px) { .price, .reset { display: none; } }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.plans.load();
  }

  private create(event: FormSubmitEvent) {
    // Read now: once the event has gone up to the window, its target is the shell.
    const form = event.target as BfSchemaForm;
    const plan = planOf(event.detail as PlanForm);
    void this.creating.run(async () => {
      await createPlan(plan);
      form.reset();
      await this.plans.load({ keep: true });
    });
  }

  private edit(plan: Plan) {
    this.saving.error = '';
    this.editing = plan;
  }

  private save(plan: Plan, event: FormSubmitEvent) {
    // The form leaves emptied tags out of its value; [] is what removes them all.
    const patch = planOf({ node_tags: [], ...(event.detail as PlanForm) });
    void this.saving.run(async () => {
      await updatePlan(plan.id, patch);
      this.editing = null;
      await this.plans.load({ keep: true });
    });
  }

  private askDelete(plan: Plan) {
    this.deleting.confirm(t('plans.confirmDelete').replace('{plan}', plan.name), t('edit.delete'), async () => {
      await deletePlan(plan.id);
      if (this.editing?.id === plan.id) this.editing = null;
      await this.plans.load({ keep: true });
    });
  }

  private labels() {
    return {
      name: t('plans.name'),
      traffic_gb: t('plans.trafficGb'),
      duration_days: t('plans.durationDays'),
      price: t('plans.price'),
      node_tags: t('plans.nodeTags'),
      reset_policy: t('plans.reset'),
      ...Object.fromEntries(RESET_POLICIES.map((policy) => [`reset_policy=${policy}`, t(RESET_LABELS[policy])])),
      reset_day: t('plans.resetDay'),
      is_enabled: t('plans.enabled'),
    };
  }

  private form(plan: Plan | null) {
    return plan
      ? html`<section class="card" data-edit-plan=${plan.id}>
          <h3>${t('plans.edit')}: ${plan.name}</h3>
          <bf-schema-form .schema=${NEW_PLAN} .value=${formOf(plan)} .labels=${this.labels()} .submitLabel=${t('edit.save')}
            ?busy=${this.saving.busy} @bf-submit=${(event: FormSubmitEvent) => this.save(plan, event)}>
            <button class="secondary" @click=${() => (this.editing = null)}>${t('edit.cancel')}</button>
          </bf-schema-form>
          ${this.saving.status()}
        </section>`
      : html`<section class="card">
          <h3>${t('plans.create')}</h3>
          <bf-schema-form .schema=${NEW_PLAN} .labels=${this.labels()} .submitLabel=${t('plans.create')}
            ?busy=${this.creating.busy} @bf-submit=${this.create}></bf-schema-form>
          ${this.creating.status()}
        </section>`;
  }

  override render() {
    const plans = this.plans.value;
    const canEdit = may(this.adminRole, 'admin');
    return html`
      <h2>${t('plans.title')}</h2>
      ${this.plans.status()}
      ${plans?.length === 0 ? html`<p>${t('plans.empty')}</p>` : nothing}
      ${plans?.length
        ? html`<div class="scroll"><table>
            <thead><tr>
              <th>${t('plans.name')}</th><th>${t('plans.traffic')}</th><th>${t('plans.duration')}</th>
              <th class="price">${t('plans.price')}</th><th>${t('plans.nodeTags')}</th><th class="reset">${t('plans.reset')}</th><th></th>
              ${canEdit ? html`<th></th>` : nothing}
            </tr></thead>
            <tbody>
              ${plans.map(
                (p) => html`<tr data-plan=${p.id}>
                  <td>${p.name}</td>
                  <td>${formatBytes(p.traffic_limit_bytes)}</td>
                  <td>${p.duration_days} ${t('plans.days')}</td>
                  <td class="price">${p.price.toFixed(2)}</td>
                  <td>${p.node_tags.map((tag) => html`<span class="badge">${tag}</span> `)}</td>
                  <td class="reset">${resetText(p)}</td>
                  <td>${p.is_enabled ? nothing : html`<span class="badge disabled">${t('plans.disabled')}</span>`}</td>
                  ${canEdit
                    ? html`<td class="actions">
                        <button class="secondary" @click=${() => this.edit(p)}>${t('edit.edit')}</button>
                        <button class="danger" ?disabled=${this.deleting.busy} @click=${() => this.askDelete(p)}>${t('edit.delete')}</button>
                      </td>`
                    : nothing}
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}
      ${this.deleting.status()}
      ${this.deleting.dialog()}
      ${canEdit ? this.form(this.editing) : nothing}
    `;
  }
}

customElements.define('bf-plans', BfPlans);

// <bf-plans>: the plans (traffic, duration, price, node tags) and, for admins, a form to add one.
import { css, html, nothing } from 'lit';
import { createPlan, listPlans, may, type NewPlan, type Plan, type Role } from '../data/api.js';
import { t } from '../i18n.js';
import './bf-schema-form.js';
import type { BfSchemaForm } from './bf-schema-form.js';
import { Changes } from './changes.js';
import type { FormSubmitEvent } from './events.js';
import { formatBytes } from './format.js';
import type { JsonSchema } from './json-schema.js';
import { Loader } from './loader.js';
import { LocalizedElement } from './localized-element.js';
import { screenStyles } from './shared-styles.js';

const GB = 1024 ** 3;

/** POST /api/v1/plans, with the traffic in GB as people write it (sent as bytes). */
const NEW_PLAN: JsonSchema = {
  type: 'object',
  required: ['name', 'traffic_gb', 'duration_days'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    traffic_gb: { type: 'number', minimum: 0 },
    duration_days: { type: 'integer', minimum: 1, maximum: 3650, default: 30 },
    price: { type: 'number', minimum: 0, default: 0 },
    node_tags: { type: 'array', items: { type: 'string' } },
    reset_policy: { type: 'string', enum: ['none', 'monthly'], default: 'none' },
  },
};

export class BfPlans extends LocalizedElement {
  static override properties = { adminRole: {} };
  adminRole: Role = 'viewer';
  private readonly plans = new Loader<Plan[]>(this, listPlans);
  private readonly creating = new Changes(this);

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
    const { traffic_gb, ...rest } = event.detail as Omit<NewPlan, 'traffic_limit_bytes'> & { traffic_gb: number };
    void this.creating.run(async () => {
      await createPlan({ ...rest, traffic_limit_bytes: Math.round(traffic_gb * GB) });
      form.reset();
      await this.plans.load({ keep: true });
    });
  }

  override render() {
    const plans = this.plans.value;
    return html`
      <h2>${t('plans.title')}</h2>
      ${this.plans.status()}
      ${plans?.length === 0 ? html`<p>${t('plans.empty')}</p>` : nothing}
      ${plans?.length
        ? html`<div class="scroll"><table>
            <thead><tr>
              <th>${t('plans.name')}</th><th>${t('plans.traffic')}</th><th>${t('plans.duration')}</th>
              <th class="price">${t('plans.price')}</th><th>${t('plans.nodeTags')}</th><th class="reset">${t('plans.reset')}</th><th></th>
            </tr></thead>
            <tbody>
              ${plans.map(
                (p) => html`<tr>
                  <td>${p.name}</td>
                  <td>${formatBytes(p.traffic_limit_bytes)}</td>
                  <td>${p.duration_days} ${t('plans.days')}</td>
                  <td class="price">${p.price.toFixed(2)}</td>
                  <td>${p.node_tags.map((tag) => html`<span class="badge">${tag}</span> `)}</td>
                  <td class="reset">${t(p.reset_policy === 'monthly' ? 'plans.resetMonthly' : 'plans.resetNone')}</td>
                  <td>${p.is_enabled ? nothing : html`<span class="badge disabled">${t('plans.disabled')}</span>`}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}
      ${may(this.adminRole, 'admin')
        ? html`<section class="card">
            <h3>${t('plans.create')}</h3>
            <bf-schema-form .schema=${NEW_PLAN} .submitLabel=${t('plans.create')} ?busy=${this.creating.busy} @bf-submit=${this.create}
              .labels=${{
                name: t('plans.name'),
                traffic_gb: t('plans.trafficGb'),
                duration_days: t('plans.durationDays'),
                price: t('plans.price'),
                node_tags: t('plans.nodeTags'),
                reset_policy: t('plans.reset'),
                'reset_policy=none': t('plans.resetNone'),
                'reset_policy=monthly': t('plans.resetMonthly'),
              }}></bf-schema-form>
            ${this.creating.status()}
          </section>`
        : nothing}
    `;
  }
}

customElements.define('bf-plans', BfPlans);

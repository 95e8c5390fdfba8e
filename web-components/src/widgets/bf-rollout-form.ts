// <bf-rollout-form>: the config editor's "Roll out…": a version to this node, one of its tags or
// every node, in stages (a count of nodes or a share, e.g. `1, 10%, 100%`), each held behind a gate
// before the next. Starting it opens the rollout's page; Cancel sends `bf-closed`.
import { css, html } from 'lit';
import type { BatchTarget } from '../data/batches.js';
import { createRollout, type RolloutGate, type RolloutStage } from '../data/rollouts.js';
import { t } from '../i18n.js';
import './bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import { CLOSED, type FormSubmitEvent } from '../ui/events.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

/** The stages and the gate, with the hub's defaults and limits. */
const ROLLOUT: JsonSchema = {
  type: 'object',
  required: ['stages'],
  properties: {
    stages: { type: 'array', items: { type: 'string' }, default: ['1', '100%'] },
    soak_s: { type: 'integer', minimum: 0, maximum: 3600, default: 30 },
    timeout_s: { type: 'integer', minimum: 1, maximum: 3600, default: 120 },
    inbound_check: { type: 'boolean', default: true },
    max_traffic_drop_pct: { type: 'number', minimum: 1, maximum: 100 },
  },
};

/** A stage as typed: a whole number is a count of nodes; anything else (`10%`) goes as it is, for the hub to judge. */
const stageOf = (text: string): RolloutStage => (/^\d+$/.test(text) ? Number(text) : (text as RolloutStage));

export class BfRolloutForm extends LocalizedElement {
  static override properties = { version: {}, nodeId: {}, tags: { attribute: false }, choice: { state: true } };
  version = 0;
  nodeId = '';
  /** The node's tags: each is a target. */
  tags: string[] = [];
  /** The target select's value: `node` (this one), `tag:<name>` or `all`; empty until the admin picks. */
  choice = '';
  private readonly changes = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      h3 { margin-top: 0; }
      label { display: grid; gap: 4px; font-size: 14px; margin-bottom: 10px; }
    `,
  ];

  private get chosen(): string {
    return this.choice || (this.tags[0] ? `tag:${this.tags[0]}` : 'node');
  }

  private get target(): BatchTarget {
    const choice = this.chosen;
    if (choice === 'all') return { all: true };
    if (choice.startsWith('tag:')) return { tags: [choice.slice(4)] };
    return { node_ids: [this.nodeId] };
  }

  private start(event: FormSubmitEvent) {
    const { stages, ...gate } = event.detail as { stages: string[] } & Partial<RolloutGate>;
    void this.changes.run(async () => {
      const rollout = await createRollout({ version: this.version, target: this.target, stages: stages.map(stageOf), gate });
      location.hash = `#/rollouts/${rollout.id}`;
    });
  }

  override render() {
    const choice = this.chosen;
    return html`<section class="card" data-rollout-form>
      <h3>${t('rollout.new').replace('{version}', String(this.version))}</h3>
      <p class="muted">${t('rollout.intro')}</p>
      <label>${t('batch.target')}
        <select aria-label=${t('batch.target')} @change=${(e: Event) => (this.choice = (e.target as HTMLSelectElement).value)}>
          <option value="node" ?selected=${choice === 'node'}>${t('rollout.thisNode').replace('{node}', this.nodeId)}</option>
          ${this.tags.map((tag) => html`<option value="tag:${tag}" ?selected=${choice === `tag:${tag}`}>${t('target.tags').replace('{tags}', tag)}</option>`)}
          <option value="all" ?selected=${choice === 'all'}>${t('target.all')}</option>
        </select></label>
      <bf-schema-form .schema=${ROLLOUT} ?busy=${this.changes.busy} .submitLabel=${t('rollout.start')} @bf-submit=${this.start}
        .labels=${{
          stages: t('rollout.stages'),
          soak_s: t('rollout.soak'),
          timeout_s: t('rollout.timeout'),
          inbound_check: t('rollout.inboundCheck'),
          max_traffic_drop_pct: t('rollout.maxDrop'),
        }}>
        <button class="secondary" @click=${() => this.dispatchEvent(new CustomEvent(CLOSED, { bubbles: true, composed: true }))}>${t('edit.cancel')}</button>
      </bf-schema-form>
      ${this.changes.status()}
    </section>`;
  }
}

customElements.define('bf-rollout-form', BfRolloutForm);

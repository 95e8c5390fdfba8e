// <bf-firewall>: the fleet's firewall rule sets (which nodes each reaches, its rules) with, for
// admins, forms to add and edit one and deleting one after asking; and every node's state: the
// revision it should enforce, the one its firewall plugin confirmed, and why a push failed.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import {
  createRuleSet,
  deleteRuleSet,
  listNodeFirewalls,
  listRuleSets,
  replaceRuleSet,
  type FirewallSupport,
  type NodeFirewall,
  type RuleSet,
} from '../data/firewall.js';
import { t, type MessageKey } from '../i18n.js';
import '../widgets/bf-firewall-rules.js';
import { RULE_FIELDS, rowsOf, rulesOf, type RuleRow } from '../widgets/bf-firewall-rules.js';
import '../widgets/bf-schema-form.js';
import type { BfSchemaForm } from '../widgets/bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import type { FormSubmitEvent, RulesChangedEvent } from '../ui/events.js';
import { formatTime } from '../ui/format.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

/** POST/PUT /api/v1/firewall/rule-sets without the rules, which have a table of their own. */
const RULE_SET: JsonSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    tags: { type: 'array', items: { type: 'string' } },
    comment: { type: 'string', maxLength: 500 },
  },
};

/** While the node list is open, pushes show up as they land. */
const NODES_REFRESH_MS = 10_000;

const SUPPORT: Record<Exclude<FirewallSupport, 'ready'>, MessageKey> = {
  missing: 'firewall.support.missing',
  disabled: 'firewall.support.disabled',
  outdated: 'firewall.support.outdated',
  unknown: 'firewall.support.unknown',
};

const short = (revision: string | null) => (revision === null ? '—' : revision.slice(0, 12));

export class BfFirewall extends LocalizedElement {
  static override properties = { adminRole: {}, editing: { state: true }, rows: { state: true } };
  adminRole: Role = 'viewer';
  /** The set whose form shows in place of the create form. */
  editing: RuleSet | null = null;
  /** The rules in the open form, as typed. */
  rows: RuleRow[] = [];
  private readonly sets = new Loader<RuleSet[]>(this, listRuleSets);
  private readonly nodes = new Loader<NodeFirewall[]>(this, listNodeFirewalls, { refreshMs: NODES_REFRESH_MS });
  private readonly saving = new Changes(this);
  private readonly deleting = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      code { font-size: 13px; }
      td.error { max-width: 28em; word-break: break-word; }
      @media (max-width: 600px) { .comment, .updated { display: none; } }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.sets.load();
    void this.nodes.load();
  }

  private reload() {
    return Promise.all([this.sets.load({ keep: true }), this.nodes.load({ keep: true })]);
  }

  private edit(set: RuleSet | null) {
    this.saving.error = '';
    this.editing = set;
    this.rows = rowsOf(set?.rules ?? []);
  }

  private save(event: FormSubmitEvent) {
    // Read now: once the event has gone up to the window, its target is the shell.
    const form = event.target as BfSchemaForm;
    // The form leaves emptied fields out of its value; a set is replaced whole, so say them.
    const body = { tags: [], comment: '', ...(event.detail as { name: string }), rules: rulesOf(this.rows) };
    const editing = this.editing;
    void this.saving.run(async () => {
      if (editing) await replaceRuleSet(editing.id, body);
      else await createRuleSet(body);
      this.edit(null);
      form.reset();
      await this.reload();
    });
  }

  private askDelete(set: RuleSet) {
    this.deleting.confirm(t('firewall.confirmDelete').replace('{set}', set.name), t('edit.delete'), async () => {
      await deleteRuleSet(set.id);
      if (this.editing?.id === set.id) this.edit(null);
      await this.reload();
    });
  }

  private form() {
    const set = this.editing;
    return html`<section class="card" data-rule-set-form=${set?.id ?? 'new'}>
      <h3>${set ? html`${t('firewall.edit')}: ${set.name}` : t('firewall.create')}</h3>
      <bf-schema-form .schema=${RULE_SET} .value=${set ? { name: set.name, tags: set.tags, comment: set.comment } : {}}
        .labels=${{ name: t('firewall.name'), tags: t('firewall.tags'), comment: t('firewall.comment') }}
        .submitLabel=${set ? t('edit.save') : t('firewall.create')} ?busy=${this.saving.busy} @bf-submit=${this.save}>
        <bf-firewall-rules slot="fields" .rows=${this.rows} @bf-rules-changed=${(e: RulesChangedEvent) => (this.rows = e.detail)}></bf-firewall-rules>
        ${set ? html`<button class="secondary" @click=${() => this.edit(null)}>${t('edit.cancel')}</button>` : nothing}
      </bf-schema-form>
      ${this.saving.status()}
    </section>`;
  }

  private setsTable(sets: RuleSet[], canEdit: boolean) {
    return html`<div class="scroll"><table>
      <thead><tr>
        <th>${t('firewall.name')}</th><th>${t('firewall.tags')}</th><th>${t('firewall.rules')}</th>
        <th class="comment">${t('firewall.comment')}</th><th class="updated">${t('firewall.updated')}</th>${canEdit ? html`<th></th>` : nothing}
      </tr></thead>
      <tbody>
        ${sets.map(
          (s) => html`<tr data-rule-set=${s.id}>
            <td>${s.name} <span class="muted">#${s.id}</span></td>
            <td>${s.tags.length ? s.tags.map((tag) => html`<span class="badge">${tag}</span> `) : html`<span class="muted">${t('firewall.everyNode')}</span>`}</td>
            <td>${s.rules.length}
              <div class="muted">${[...new Set(s.rules.map((r) => t(RULE_FIELDS[r.kind].label)))].join(', ')}</div></td>
            <td class="comment">${s.comment}</td>
            <td class="updated">${formatTime(s.updated_at)} <span class="muted">${s.updated_by}</span></td>
            ${canEdit
              ? html`<td class="actions">
                  <button class="secondary" @click=${() => this.edit(s)}>${t('edit.edit')}</button>
                  <button class="danger" ?disabled=${this.deleting.busy} @click=${() => this.askDelete(s)}>${t('edit.delete')}</button>
                </td>`
              : nothing}
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  /** Where the node stands: cannot take rules, confirmed its list, its last push failed, or on its way. */
  private state(n: NodeFirewall) {
    if (n.firewall !== 'ready') return html`<span class="badge expired">${t(SUPPORT[n.firewall])}</span>`;
    if (n.in_sync) return html`<span class="badge ok">${t('firewall.inSync')}</span>`;
    if (n.last_error?.revision === n.desired_revision) return html`<span class="badge error">${t('firewall.failed')}</span>`;
    return html`<span class="badge">${t('firewall.pending')}</span>`;
  }

  private nodesTable(nodes: NodeFirewall[]) {
    return html`<div class="scroll"><table>
      <thead><tr>
        <th>${t('firewall.node')}</th><th>${t('firewall.state')}</th><th>${t('firewall.rules')}</th>
        <th>${t('firewall.desired')}</th><th>${t('firewall.confirmed')}</th><th>${t('firewall.problems')}</th>
      </tr></thead>
      <tbody>
        ${nodes.map(
          (n) => html`<tr data-node-firewall=${n.node_id}>
            <td><a href="#/nodes/${encodeURIComponent(n.node_id)}">${n.node_id}</a>
              ${n.enabled ? nothing : html`<span class="badge disabled">${t('firewall.nodeDisabled')}</span>`}</td>
            <td>${this.state(n)}</td>
            <td>${n.rules}</td>
            <td><code title=${n.desired_revision}>${short(n.desired_revision)}</code></td>
            <td><code title=${n.confirmed_revision ?? ''}>${short(n.confirmed_revision)}</code>
              ${n.synced_at ? html`<div class="muted">${formatTime(n.synced_at)}</div>` : nothing}</td>
            <td class="error">
              ${n.last_error
                ? html`<div class="error" data-last-error>${n.last_error.message}</div>
                    <div class="muted">${formatTime(n.last_error.at)} · <code>${short(n.last_error.revision)}</code></div>`
                : nothing}
              ${n.warnings.map((w) => html`<div class="muted" data-warning>${w}</div>`)}
            </td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  override render() {
    const sets = this.sets.value;
    const nodes = this.nodes.value;
    const canEdit = may(this.adminRole, 'admin');
    return html`
      <h2>${t('firewall.title')}</h2>
      <p class="muted">${t('firewall.intro')}</p>
      <h3>${t('firewall.sets')}</h3>
      ${this.sets.status()}
      ${sets?.length === 0 ? html`<p>${t('firewall.setsEmpty')}</p>` : nothing}
      ${sets?.length ? this.setsTable(sets, canEdit) : nothing}
      ${this.deleting.status()}
      ${this.deleting.dialog()}
      ${canEdit ? this.form() : nothing}
      <h3>${t('firewall.nodes')}</h3>
      ${this.nodes.status()}
      ${nodes?.length === 0 ? html`<p>${t('firewall.nodesEmpty')}</p>` : nothing}
      ${nodes?.length ? this.nodesTable(nodes) : nothing}
    `;
  }
}

customElements.define('bf-firewall', BfFirewall);

// <bf-nodes>: the node list with health and tags, with loading and error states; admins add a node
// through the "Add node" dialog (an install command, or an enrollment string) and see the install
// commands not used yet. Nodes ticked in the list can be given one command as a batch.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { listNodes, type NodeSummary } from '../data/nodes.js';
import { t } from '../i18n.js';
import '../widgets/bf-add-node.js';
import '../widgets/bf-batch-form.js';
import '../widgets/bf-install-commands.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export class BfNodes extends LocalizedElement {
  static override properties = { adminRole: {}, adding: { state: true }, installs: { state: true }, selected: { state: true }, batching: { state: true } };
  adminRole: Role = 'viewer';
  /** Whether the Add node dialog is open. */
  adding = false;
  /** Raised after the dialog changed something, so the list of install commands is fetched again. */
  installs = 0;
  /** The ticked nodes, by id. */
  selected = new Set<string>();
  /** Whether the batch form for the ticked nodes is open. */
  batching = false;
  private readonly nodes = new Loader<NodeSummary[]>(this, listNodes, { refreshMs: 30_000 });

  static override styles = [screenStyles, css`
    .online { color: #1b7f3b; }
    .offline { color: #b3261e; }
    .tag { display: inline-block; background: #e8eefc; border-radius: 3px; padding: 0 6px; margin-right: 4px; }
    .heading { justify-content: space-between; }
    .heading h2 { margin: 0; }
    @media (max-width: 600px) { .address, .plugins { display: none; } }
  `];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.nodes.load();
  }

  private changed() {
    this.installs++;
    void this.nodes.load({ keep: true });
  }

  private tick(id: string, on: boolean) {
    const selected = new Set(this.selected);
    if (on) selected.add(id);
    else selected.delete(id);
    this.selected = selected;
  }

  private tickAll(nodes: NodeSummary[], on: boolean) {
    this.selected = new Set(on ? nodes.map((n) => n.id) : []);
  }

  /** The batch form for the ticked nodes (in list order), or the button that opens it. */
  private batchSection(nodes: NodeSummary[]) {
    const ids = nodes.filter((n) => this.selected.has(n.id)).map((n) => n.id);
    if (this.batching && ids.length) {
      return html`<bf-batch-form .adminRole=${this.adminRole} .nodeIds=${ids} @bf-closed=${() => (this.batching = false)}></bf-batch-form>`;
    }
    return html`<div class="row">
      <button class="secondary" ?disabled=${!ids.length} @click=${() => (this.batching = true)}>${t('nodes.runOnSelected')}</button>
      <span class="muted">${t('nodes.selected').replace('{count}', String(ids.length))}</span>
    </div>`;
  }

  override render() {
    const canAdd = may(this.adminRole, 'admin');
    const nodes = this.nodes.value;
    return html`
      <div class="row heading">
        <h2>${t('nodes.title')}</h2>
        ${canAdd ? html`<button @click=${() => (this.adding = true)}>${t('nodes.enroll')}</button>` : nothing}
      </div>
      ${this.nodes.status()}
      ${nodes?.length === 0 ? html`<p>${t('nodes.empty')}</p>` : nothing}
      ${nodes?.length ? this.batchSection(nodes) : nothing}
      ${nodes?.length
        ? html`<div class="scroll"><table>
            <thead><tr><th><input type="checkbox" aria-label=${t('nodes.selectAll')} .checked=${nodes.every((n) => this.selected.has(n.id))}
              @change=${(e: Event) => this.tickAll(nodes, (e.target as HTMLInputElement).checked)} /></th><th>ID</th><th></th><th>${t('nodes.tags')}</th><th class="address">${t('nodes.address')}</th><th class="plugins">${t('nodes.plugins')}</th></tr></thead>
            <tbody>
              ${nodes.map(
                (n) => html`<tr data-node=${n.id}>
                  <td><input type="checkbox" aria-label=${t('nodes.select').replace('{node}', n.name)} .checked=${this.selected.has(n.id)}
                    @change=${(e: Event) => this.tick(n.id, (e.target as HTMLInputElement).checked)} /></td>
                  <td><a href="#/nodes/${encodeURIComponent(n.id)}">${n.name}</a></td>
                  <td class=${n.online ? 'online' : 'offline'}>${n.online ? t('nodes.online') : t('nodes.offline')}
                    ${n.enabled ? nothing : html`<span class="badge disabled">${t('admins.disabled')}</span>`}
                    ${n.config_drift ? html`<span class="badge error" data-drift title=${t('nodes.driftTitle').replace('{since}', formatTime(n.config_drift.since))}>${t('nodes.drift')}</span>` : nothing}
                    ${n.inbound_health.state === 'unhealthy'
                      ? html`<span class="badge error" data-unreachable title=${t('nodes.unreachableTitle').replace('{since}', formatTime(n.inbound_health.since!))}>${t('nodes.unreachable')}</span>`
                      : nothing}
                    ${n.error ? html`<div class="muted error" title=${n.error}>${t('node.error')}</div>` : nothing}</td>
                  <td>${n.tags.map((tag) => html`<span class="tag">${tag}</span>`)}</td>
                  <td class="address">${n.address}
                    ${n.public_host ? html`<div class="muted" title=${t('node.publicHost')}>${t('node.publicHost')}: ${n.public_host}</div>` : nothing}</td>
                  <td class="plugins">${n.agent?.plugins.filter((p) => p.state === 'running').length ?? 0}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}
      ${canAdd ? html`<bf-install-commands .changed=${this.installs}></bf-install-commands>` : nothing}
      ${this.adding ? html`<bf-add-node @bf-changed=${this.changed} @bf-closed=${() => (this.adding = false)}></bf-add-node>` : nothing}
    `;
  }
}

customElements.define('bf-nodes', BfNodes);

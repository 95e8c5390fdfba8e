// <bf-nodes>: the node list with health and tags, with loading and error states; admins add a node
// through the "Add node" dialog (an install command, or an enrollment string) and see the install
// commands not used yet.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { listNodes, type NodeSummary } from '../data/nodes.js';
import { t } from '../i18n.js';
import '../widgets/bf-add-node.js';
import '../widgets/bf-install-commands.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export class BfNodes extends LocalizedElement {
  static override properties = { adminRole: {}, adding: { state: true }, installs: { state: true } };
  adminRole: Role = 'viewer';
  /** Whether the Add node dialog is open. */
  adding = false;
  /** Raised after the dialog changed something, so the list of install commands is fetched again. */
  installs = 0;
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
      ${nodes?.length
        ? html`<div class="scroll"><table>
            <thead><tr><th>ID</th><th></th><th>${t('nodes.tags')}</th><th class="address">${t('nodes.address')}</th><th class="plugins">${t('nodes.plugins')}</th></tr></thead>
            <tbody>
              ${nodes.map(
                (n) => html`<tr>
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

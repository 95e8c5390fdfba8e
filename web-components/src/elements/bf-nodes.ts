// <bf-nodes>: the node list with health and tags, with loading and error states; admins can add a
// node from its enrollment string.
import { css, html, nothing } from 'lit';
import { enrollNode, listNodes, may, type NodeSummary, type Role } from '../data/api.js';
import { t } from '../i18n.js';
import { Loader } from './loader.js';
import { LocalizedElement } from './localized-element.js';
import { screenStyles } from './shared-styles.js';

export class BfNodes extends LocalizedElement {
  static override properties = { adminRole: {}, enrollError: { state: true } };
  adminRole: Role = 'viewer';
  private readonly nodes = new Loader<NodeSummary[]>(this, listNodes, { refreshMs: 30_000 });
  enrollError = '';

  static override styles = [screenStyles, css`
    .online { color: #1b7f3b; }
    .offline { color: #b3261e; }
    .tag { display: inline-block; background: #e8eefc; border-radius: 3px; padding: 0 6px; margin-right: 4px; }
    .error { color: #b3261e; }
    form { display: flex; gap: 8px; margin: 12px 0; flex-wrap: wrap; }
    form input { flex: 1; min-width: 200px; padding: 6px; }
    @media (max-width: 600px) { .address, .plugins { display: none; } }
  `];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.nodes.load();
  }

  private async enroll(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const tags = String(form.get('tags') ?? '').split(/[\s,]+/).filter(Boolean);
    this.enrollError = '';
    try {
      await enrollNode(String(form.get('enrollment')), tags);
      await this.nodes.load({ keep: true });
    } catch (error) {
      this.enrollError = (error as Error).message;
    }
  }

  override render() {
    const canEnroll = may(this.adminRole, 'admin');
    const nodes = this.nodes.value;
    return html`
      <h2>${t('nodes.title')}</h2>
      ${canEnroll
        ? html`<form @submit=${this.enroll}>
            <input name="enrollment" placeholder=${t('nodes.enrollment')} required />
            <input name="tags" placeholder=${t('nodes.tags')} />
            <button type="submit">${t('nodes.enroll')}</button>
          </form>`
        : nothing}
      ${this.enrollError ? html`<p class="error" role="alert">${this.enrollError}</p>` : nothing}
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
    `;
  }
}

customElements.define('bf-nodes', BfNodes);

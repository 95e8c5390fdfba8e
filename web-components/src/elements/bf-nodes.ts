// <bf-nodes>: the node list with health and tags, with loading and error states; admins can add a
// node from its enrollment string.
import { css, html } from 'lit';
import { enrollNode, listNodes, type NodeSummary, type Role } from '../data/api.js';
import { t } from '../i18n.js';
import { LocalizedElement } from './localized-element.js';
import { screenStyles } from './shared-styles.js';

export class BfNodes extends LocalizedElement {
  static override properties = { adminRole: {}, nodes: { state: true }, error: { state: true } };
  adminRole: Role = 'viewer';
  nodes: NodeSummary[] | null = null;
  error = '';

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
    void this.load();
  }

  private async load() {
    this.error = '';
    try {
      this.nodes = await listNodes();
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  private async enroll(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const tags = String(form.get('tags') ?? '').split(/[\s,]+/).filter(Boolean);
    try {
      await enrollNode(String(form.get('enrollment')), tags);
      await this.load();
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  override render() {
    const canEnroll = this.adminRole === 'admin' || this.adminRole === 'owner';
    return html`
      <h2>${t('nodes.title')}</h2>
      ${canEnroll
        ? html`<form @submit=${this.enroll}>
            <input name="enrollment" placeholder=${t('nodes.enrollment')} required />
            <input name="tags" placeholder=${t('nodes.tags')} />
            <button type="submit">${t('nodes.enroll')}</button>
          </form>`
        : ''}
      ${this.error ? html`<p class="error" role="alert">${this.error} <button @click=${this.load}>${t('common.retry')}</button></p>` : ''}
      ${this.nodes === null && !this.error ? html`<p>${t('common.loading')}</p>` : ''}
      ${this.nodes?.length === 0 ? html`<p>${t('nodes.empty')}</p>` : ''}
      ${this.nodes?.length
        ? html`<table>
            <thead><tr><th>ID</th><th></th><th>${t('nodes.tags')}</th><th class="address">${t('nodes.address')}</th><th class="plugins">${t('nodes.plugins')}</th></tr></thead>
            <tbody>
              ${this.nodes.map(
                (n) => html`<tr>
                  <td><a href="#/nodes/${encodeURIComponent(n.id)}">${n.name}</a></td>
                  <td class=${n.online ? 'online' : 'offline'}>${n.online ? t('nodes.online') : t('nodes.offline')}</td>
                  <td>${n.tags.map((tag) => html`<span class="tag">${tag}</span>`)}</td>
                  <td class="address">${n.address}</td>
                  <td class="plugins">${n.agent?.plugins.filter((p) => p.state === 'running').length ?? 0}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : ''}
    `;
  }
}

customElements.define('bf-nodes', BfNodes);

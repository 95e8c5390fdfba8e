// <bf-node-detail>: one node — its state, and a panel for every plugin its agent describes: the
// plugin's own richer panel when one is registered (panels.ts), then a generic form for each of its
// commands.
import { css, html, nothing } from 'lit';
import { html as staticHtml, unsafeStatic } from 'lit/static-html.js';
import { getNode, type NodeDetail, type PluginDescription, type Role } from '../data/api.js';
import { t } from '../i18n.js';
import './bf-command-panel.js';
import './bf-node-metrics.js';
import { Loader } from './loader.js';
import { LocalizedElement } from './localized-element.js';
import { PLUGIN_PANELS } from './panels.js';
import { screenStyles } from './shared-styles.js';

export class BfNodeDetail extends LocalizedElement {
  static override properties = { nodeId: {}, adminRole: {} };
  nodeId = '';
  adminRole: Role = 'viewer';
  private readonly node = new Loader<NodeDetail>(this, () => getNode(this.nodeId));

  static override styles = [
    screenStyles,
    css`
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; font-size: 14px; }
      dt { color: #6b7280; }
      dd { margin: 0; word-break: break-all; }
      .plugin h3 { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 0; }
      details { border-top: 1px solid #e4e6eb; padding: 8px 0; }
      summary { cursor: pointer; font-family: ui-monospace, monospace; font-size: 14px; }
      summary .muted { font-family: system-ui, sans-serif; }
    `,
  ];

  override willUpdate(changed: Map<string, unknown>) {
    if (changed.has('nodeId')) void this.node.load();
  }

  /**
   * The plugin's registered panel, while it runs. Its chunk loads on first use; Lit keeps the
   * properties set before the element is defined.
   */
  private richPanel(nodeId: string, plugin: PluginDescription) {
    const panel = PLUGIN_PANELS[plugin.id];
    if (!panel || plugin.state !== 'running') return nothing;
    void panel.load();
    const tag = unsafeStatic(panel.element);
    return staticHtml`<${tag} .nodeId=${nodeId} .plugin=${plugin} .adminRole=${this.adminRole}></${tag}>`;
  }

  override render() {
    const node = this.node.value;
    return html`
      <p><a href="#/nodes">← ${t('nav.nodes')}</a></p>
      <h2>${t('node.title')} ${this.nodeId}</h2>
      ${this.node.status()}
      ${node
        ? html`<div class="card">
              <dl>
                <dt>${t('node.status')}</dt>
                <dd><span class="badge ${node.online ? 'ok' : 'error'}">${node.online ? t('nodes.online') : t('nodes.offline')}</span></dd>
                <dt>${t('nodes.address')}</dt><dd>${node.address}</dd>
                <dt>${t('nodes.tags')}</dt><dd>${node.tags.join(', ') || '—'}</dd>
                <dt>${t('node.agentVersion')}</dt><dd>${node.agent?.agentVersion ?? '—'}</dd>
                <dt>${t('node.config')}</dt>
                <dd>${node.applied_config_version === null ? '—' : `${t('config.version')} ${node.applied_config_version}`}
                  <a href="#/nodes/${encodeURIComponent(node.id)}/config">${t('node.editConfig')}</a></dd>
                ${node.error ? html`<dt>${t('node.error')}</dt><dd class="error">${node.error}</dd>` : nothing}
              </dl>
            </div>
            <bf-node-metrics .nodeId=${node.id}></bf-node-metrics>
            <h3>${t('nodes.plugins')}</h3>
            ${node.agent?.plugins.length === 0 ? html`<p>${t('node.noPlugins')}</p>` : nothing}
            ${node.agent?.plugins.map(
              (p) => html`<section class="card plugin" data-plugin=${p.id}>
                <h3>${p.id} <span class="muted">${p.version}</span>
                  <span class="badge ${p.healthy ? 'ok' : 'error'}">${p.state}</span></h3>
                ${p.message ? html`<p class="muted">${p.message}</p>` : nothing}
                ${this.richPanel(node.id, p)}
                ${p.commands.length === 0 ? html`<p class="muted">${t('node.noCommands')}</p>` : nothing}
                ${p.commands.map(
                  (c) => html`<details data-command=${c.name}>
                    <summary>${c.name} <span class="muted">${c.description}</span></summary>
                    <bf-command-panel .nodeId=${node.id} .command=${c} .adminRole=${this.adminRole}></bf-command-panel>
                  </details>`,
                )}
              </section>`,
            )}`
        : nothing}
    `;
  }
}

customElements.define('bf-node-detail', BfNodeDetail);

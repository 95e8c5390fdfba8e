// <bf-node-detail>: one node — its state, metrics, probe and unlock results and inventory, and a
// panel for every plugin its agent describes: the plugin's own richer panel when one is registered
// (panels/registry.ts), then a generic form for each of its commands.
import { css, html, nothing } from 'lit';
import { html as staticHtml, unsafeStatic } from 'lit/static-html.js';
import { may, type Role } from '../../../agent-core/common/roles.js';
import type { PluginDescription } from '../../../agent-core/common/description.js';
import { inboundTagsOf } from '../data/configs.js';
import { deleteNode, getNode, updateNode, type NodeDetail, type NodeSettings } from '../data/nodes.js';
import { t } from '../i18n.js';
import '../widgets/bf-command-panel.js';
import { overridesOf, rowsOf, type OverrideRow } from '../widgets/bf-inbound-overrides.js';
import '../widgets/bf-node-metrics.js';
import '../widgets/bf-node-probes.js';
import '../widgets/bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import type { FormSubmitEvent, OverridesChangedEvent } from '../ui/events.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { NODE_FIELDS } from '../ui/node-fields.js';
import { PLUGIN_PANELS } from '../panels/registry.js';
import { screenStyles } from '../ui/shared-styles.js';

/** PATCH /api/v1/nodes/:id, as the hub checks it (inbound_overrides has a table of its own). */
const nodeSettings = (): JsonSchema => ({
  type: 'object',
  required: ['name', 'address'],
  properties: {
    name: NODE_FIELDS.name,
    address: { type: 'string', pattern: '^.+:[0-9]{1,5}$' },
    public_host: { type: 'string', maxLength: 253, description: t('node.publicHostHint') },
    tags: NODE_FIELDS.tags,
    multiplier: NODE_FIELDS.multiplier,
    enabled: { type: 'boolean' },
  },
});

export class BfNodeDetail extends LocalizedElement {
  static override properties = {
    nodeId: {},
    adminRole: {},
    editing: { state: true },
    overrideRows: { state: true },
    inboundTags: { state: true },
  };
  nodeId = '';
  adminRole: Role = 'viewer';
  /** Whether the settings form is open. */
  editing = false;
  /** The per-inbound overrides in the open form, as typed. */
  overrideRows: OverrideRow[] = [];
  /** The inbound tags of the config the node runs, offered in the overrides table. */
  inboundTags: string[] = [];
  private readonly node = new Loader<NodeDetail>(this, () => getNode(this.nodeId));
  private readonly changes = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; font-size: 14px; }
      dt { color: var(--bf-faint); }
      dd { margin: 0; word-break: break-all; }
      .plugin h3 { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 0; }
      details { border-top: 1px solid var(--bf-border); padding: 8px 0; }
      summary { cursor: pointer; font-family: ui-monospace, monospace; font-size: 14px; }
      summary .muted { font-family: system-ui, sans-serif; }
      [data-node-settings] { margin-top: 12px; border-top: 1px solid var(--bf-border); }
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

  private startEditing(node: NodeDetail) {
    this.overrideRows = rowsOf(node.inbound_overrides);
    this.inboundTags = [];
    this.editing = true;
    if (node.applied_config_version === null) return;
    inboundTagsOf(node.applied_config_version).then(
      (tags) => (this.inboundTags = tags),
      // Only suggestions: without them the admin types the tag.
      () => undefined,
    );
  }

  private save(event: FormSubmitEvent) {
    void this.changes.run(async () => {
      // The form leaves emptied fields out of its value; [] and null are what clear tags and the public host.
      const settings = { tags: [], public_host: null, ...event.detail, inbound_overrides: overridesOf(this.overrideRows) } as NodeSettings;
      await updateNode(this.nodeId, settings);
      this.editing = false;
      await this.node.load({ keep: true });
    });
  }

  private askRemove(node: NodeDetail) {
    this.changes.confirm(t('node.confirmRemove').replace('{node}', node.id), t('node.remove'), async () => {
      await deleteNode(node.id);
      location.hash = '#/nodes';
    });
  }

  private settings(node: NodeDetail) {
    if (!may(this.adminRole, 'admin')) return nothing;
    if (!this.editing) {
      return html`<div class="row">
        <button class="secondary" @click=${() => this.startEditing(node)}>${t('node.edit')}</button>
        <button class="danger" ?disabled=${this.changes.busy} @click=${() => this.askRemove(node)}>${t('node.remove')}</button>
      </div>${this.changes.status()}`;
    }
    const { name, address, public_host, tags, multiplier, enabled } = node;
    return html`<div data-node-settings>
      <h3>${t('node.edit')}</h3>
      <bf-schema-form .schema=${nodeSettings()} .value=${{ name, address, public_host, tags, multiplier, enabled }} .submitLabel=${t('edit.save')}
        ?busy=${this.changes.busy} @bf-submit=${this.save}
        .labels=${{
          name: t('node.name'),
          address: t('nodes.address'),
          public_host: t('node.publicHost'),
          tags: t('nodes.tags'),
          multiplier: t('node.multiplier'),
          enabled: t('node.enabled'),
        }}>
        <bf-inbound-overrides slot="fields" .rows=${this.overrideRows} .inboundTags=${this.inboundTags}
          @bf-overrides-changed=${(e: OverridesChangedEvent) => (this.overrideRows = e.detail)}></bf-inbound-overrides>
        <button class="secondary" @click=${() => (this.editing = false)}>${t('edit.cancel')}</button>
      </bf-schema-form>
      ${this.changes.status()}
    </div>`;
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
                <dt>${t('node.publicHost')}</dt><dd data-public-host>${node.public_host ?? html`<span class="muted">${t('node.publicHostDefault')}</span>`}</dd>
                ${Object.keys(node.inbound_overrides).length
                  ? html`<dt>${t('node.overrides')}</dt>
                      <dd data-overrides>${Object.entries(node.inbound_overrides).map(
                        ([tag, o]) => html`<div>${tag} → ${[o.host, o.port === undefined ? undefined : `${t('node.overridePort')} ${o.port}`].filter(Boolean).join(', ')}</div>`,
                      )}</dd>`
                  : nothing}
                <dt>${t('nodes.tags')}</dt><dd>${node.tags.join(', ') || '—'}</dd>
                <dt>${t('node.agentVersion')}</dt><dd>${node.agent?.agentVersion ?? '—'}</dd>
                <dt>${t('node.config')}</dt>
                <dd>${node.applied_config_version === null ? '—' : `${t('config.version')} ${node.applied_config_version}`}
                  <a href="#/nodes/${encodeURIComponent(node.id)}/config">${t('node.editConfig')}</a>
                  ${node.config_drift
                    ? html`<div data-drift><span class="badge error">${t('nodes.drift')}</span>
                        <span class="error">${t('nodes.driftTitle').replace('{since}', formatTime(node.config_drift.since))}</span></div>`
                    : nothing}</dd>
                <dt>${t('node.multiplier')}</dt><dd>×${node.multiplier}</dd>
                ${node.enabled ? nothing : html`<dt>${t('node.enabled')}</dt><dd><span class="badge disabled">${t('admins.disabled')}</span></dd>`}
                ${node.error ? html`<dt>${t('node.error')}</dt><dd class="error">${node.error}</dd>` : nothing}
              </dl>
              ${this.settings(node)}
            </div>
            <bf-node-metrics .nodeId=${node.id}></bf-node-metrics>
            <bf-node-probes .nodeId=${node.id}></bf-node-probes>
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
      ${this.changes.dialog()}
    `;
  }
}

customElements.define('bf-node-detail', BfNodeDetail);

// <bf-add-node>: the Nodes screen's "Add node" dialog. First choice: an install command for a new
// machine, with the tags, name and multiplier the node will get; the command is shown once, with a
// copy button, its expiry and the architectures the hub has an agent for. Second: a node whose agent
// is already set up, from its enrollment string. Sends `bf-changed` after either, `bf-closed` when closed.
import { css, html } from 'lit';
import { createInstallCommand, type InstallCommand, type InstallCommandSettings } from '../data/install-commands.js';
import { enrollNode } from '../data/nodes.js';
import { t } from '../i18n.js';
import './bf-copy-button.js';
import './bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import { dialogFocus } from '../ui/dialog.js';
import { CHANGED, CLOSED, type FormSubmitEvent } from '../ui/events.js';
import { formatTime } from '../ui/format.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { NODE_FIELDS } from '../ui/node-fields.js';
import { dialogStyles, screenStyles } from '../ui/shared-styles.js';

/** POST /api/v1/nodes/install-tokens. */
const INSTALL_COMMAND: JsonSchema = { type: 'object', properties: { tags: NODE_FIELDS.tags, name: NODE_FIELDS.name, multiplier: NODE_FIELDS.multiplier } };

/** POST /api/v1/nodes. */
const ENROLLMENT: JsonSchema = {
  type: 'object',
  required: ['enrollment'],
  properties: { enrollment: { type: 'string', minLength: 1, maxLength: 2000 }, ...INSTALL_COMMAND.properties },
};

export class BfAddNode extends LocalizedElement {
  static override properties = { mode: { state: true }, created: { state: true } };
  mode: 'command' | 'enrollment' = 'command';
  /** The command just created, shown until the admin asks for another. */
  created: InstallCommand | null = null;
  private readonly changes = new Changes(this);

  constructor() {
    super();
    dialogFocus(this, { close: () => this.send(CLOSED) });
  }

  static override styles = [
    screenStyles,
    dialogStyles,
    css`
      [role='tablist'] { display: flex; gap: 4px; margin-bottom: 12px; border-bottom: 1px solid var(--bf-border); }
      [role='tab'] { background: none; color: var(--bf-strong-muted); border: none; border-bottom: 2px solid transparent; border-radius: 0; }
      [role='tab'][aria-selected='true'] { color: var(--bf-accent); border-bottom-color: var(--bf-accent); }
      pre { background: var(--bf-header); color: var(--bf-on-header); padding: 10px 12px; border-radius: 4px; white-space: pre-wrap; word-break: break-all; margin: 8px 0; font-size: 13px; }
      p { margin: 8px 0; font-size: 14px; }
    `,
  ];

  override firstUpdated() {
    this.renderRoot.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]')?.focus();
  }

  private send(name: string) {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }));
  }

  private choose(mode: BfAddNode['mode']) {
    this.mode = mode;
    this.changes.error = '';
  }

  private create(event: FormSubmitEvent) {
    const settings = event.detail as InstallCommandSettings;
    void this.changes.run(async () => {
      this.created = await createInstallCommand(settings);
      this.send(CHANGED);
    });
  }

  private enroll(event: FormSubmitEvent) {
    const body = event.detail as Parameters<typeof enrollNode>[0];
    void this.changes.run(async () => {
      await enrollNode(body);
      this.send(CHANGED);
      this.send(CLOSED);
    });
  }

  private labels() {
    return { enrollment: t('nodes.enrollment'), tags: t('nodes.tags'), name: t('node.name'), multiplier: t('node.multiplier') };
  }

  private commandPanel() {
    const created = this.created;
    if (!created) {
      return html`<p>${t('addNode.commandIntro')}</p>
        <bf-schema-form .schema=${INSTALL_COMMAND} .labels=${this.labels()} .submitLabel=${t('addNode.create')}
          ?busy=${this.changes.busy} @bf-submit=${this.create}></bf-schema-form>`;
    }
    return html`<div data-install-command>
      <p>${t('addNode.runIt')}</p>
      <pre><code>${created.command}</code></pre>
      <bf-copy-button .value=${created.command}></bf-copy-button>
      <p>${t('addNode.hostPort')}</p>
      <p class="muted">${t('addNode.expires').replace('{time}', formatTime(created.expires_at))}
        ${t('addNode.architectures').replace('{version}', created.version).replace('{architectures}', created.architectures.join(', '))}</p>
      <button class="secondary" @click=${() => (this.created = null)}>${t('addNode.another')}</button>
    </div>`;
  }

  override render() {
    const tab = (mode: BfAddNode['mode'], label: string) =>
      html`<button role="tab" aria-selected=${this.mode === mode ? 'true' : 'false'} @click=${() => this.choose(mode)}>${label}</button>`;
    return html`<div class="backdrop">
      <div class="dialog wide" role="dialog" aria-modal="true" aria-labelledby="add-node-title">
        <h3 id="add-node-title">${t('addNode.title')}</h3>
        <div role="tablist">${tab('command', t('addNode.byCommand'))}${tab('enrollment', t('addNode.byEnrollment'))}</div>
        ${this.mode === 'command'
          ? this.commandPanel()
          : html`<p>${t('addNode.enrollmentIntro')}</p>
              <bf-schema-form .schema=${ENROLLMENT} .labels=${this.labels()} .submitLabel=${t('nodes.enroll')}
                ?busy=${this.changes.busy} @bf-submit=${this.enroll}></bf-schema-form>`}
        ${this.changes.status()}
        <div class="actions"><button class="secondary" @click=${() => this.send(CLOSED)}>${t('common.close')}</button></div>
      </div>
    </div>`;
  }
}

customElements.define('bf-add-node', BfAddNode);

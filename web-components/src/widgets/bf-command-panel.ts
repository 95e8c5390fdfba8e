// <bf-command-panel>: runs one plugin command on a node through a form rendered from the command's
// input schema; shows the result (ui/command-result.ts) and the hub's error message inline.
import { css, html, nothing } from 'lit';
import { commandRole, may, type Role } from '../../../agent-core/common/roles.js';
import type { CommandDescription } from '../../../agent-core/common/description.js';
import { runCommand } from '../data/nodes.js';
import { t } from '../i18n.js';
import './bf-schema-form.js';
import { commandResult, commandResultStyles } from '../ui/command-result.js';
import type { FormSubmitEvent } from '../ui/events.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export class BfCommandPanel extends LocalizedElement {
  static override properties = {
    nodeId: {},
    command: { attribute: false },
    adminRole: {},
    busy: { state: true },
    result: { state: true },
    error: { state: true },
  };
  nodeId = '';
  command: CommandDescription | null = null;
  adminRole: Role = 'viewer';
  busy = false;
  result: { value: unknown } | null = null;
  error = '';

  static override styles = [
    screenStyles,
    commandResultStyles,
    css`
      .result { margin-top: 12px; }
    `,
  ];

  private async run(event: FormSubmitEvent) {
    if (!this.command) return;
    this.busy = true;
    this.error = '';
    this.result = null;
    try {
      this.result = { value: await runCommand(this.nodeId, this.command.name, event.detail) };
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const command = this.command;
    if (!command) return nothing;
    const needed = commandRole(command.role);
    const allowed = may(this.adminRole, needed);
    return html`
      ${command.mutates ? html`<p class="muted">${t('command.mutates')}</p>` : nothing}
      ${allowed ? nothing : html`<p class="muted">${t('command.needsRole')} ${needed}</p>`}
      <bf-schema-form .schema=${command.input as JsonSchema} .submitLabel=${t('command.run')} ?busy=${this.busy} ?disabled=${!allowed}
        @bf-submit=${this.run}></bf-schema-form>
      ${this.busy ? html`<p>${t('command.running')}</p>` : nothing}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.result ? html`<div class="result" data-result><h4>${t('command.result')}</h4>${commandResult(this.result.value)}</div>` : nothing}
    `;
  }
}

customElements.define('bf-command-panel', BfCommandPanel);

// <bf-command-panel>: runs one plugin command on a node through a form rendered from the command's
// input schema; shows the result as a table (an array of flat objects) or as JSON, and the hub's
// error message inline.
import { css, html, nothing, type TemplateResult } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import type { CommandDescription } from '../../../agent-core/common/description.js';
import { runCommand } from '../data/nodes.js';
import { t } from '../i18n.js';
import './bf-schema-form.js';
import type { FormSubmitEvent } from '../ui/events.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

type Flat = Record<string, string | number | boolean | null>;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** True for a non-empty array whose items are objects of plain values: those read best as a table. */
function isTable(value: unknown): value is Flat[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (row) => isObject(row) && Object.values(row).every((v) => v === null || typeof v !== 'object'),
    )
  );
}

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
    css`
      .result { margin-top: 12px; }
      .result h5 { margin: 12px 0 4px; font-size: 14px; }
      table.fields { width: auto; }
      pre { background: #f5f6f8; padding: 8px; border-radius: 4px; overflow-x: auto; font-size: 13px; margin: 0; }
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

  /**
   * An array of flat objects as a table; an object holding such an array as its plain fields in a
   * table of their own, then each other field under its name; anything else as JSON.
   */
  private renderResult(value: unknown): TemplateResult {
    if (isTable(value)) {
      const columns = [...new Set(value.flatMap((row) => Object.keys(row)))];
      return html`<div class="scroll"><table>
        <thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
        <tbody>${value.map((row) => html`<tr>${columns.map((c) => html`<td>${row[c] === undefined ? '' : String(row[c])}</td>`)}</tr>`)}</tbody>
      </table></div>`;
    }
    if (isObject(value) && Object.values(value).some(isTable)) {
      const entries = Object.entries(value);
      const plain = entries.filter(([, v]) => v === null || typeof v !== 'object');
      return html`${plain.length ? html`<table class="fields">${plain.map(([k, v]) => html`<tr><th>${k}</th><td>${String(v)}</td></tr>`)}</table>` : nothing}
        ${entries.filter(([, v]) => v !== null && typeof v === 'object').map(([k, v]) => html`<h5>${k}</h5>${this.renderResult(v)}`)}`;
    }
    return html`<pre>${JSON.stringify(value, null, 2)}</pre>`;
  }

  override render() {
    const command = this.command;
    if (!command) return nothing;
    const needed = (command.role || 'viewer') as Role;
    const allowed = may(this.adminRole, needed);
    return html`
      ${command.mutates ? html`<p class="muted">${t('command.mutates')}</p>` : nothing}
      ${allowed ? nothing : html`<p class="muted">${t('command.needsRole')} ${needed}</p>`}
      <bf-schema-form .schema=${command.input as JsonSchema} .submitLabel=${t('command.run')} ?busy=${this.busy} ?disabled=${!allowed}
        @bf-submit=${this.run}></bf-schema-form>
      ${this.busy ? html`<p>${t('command.running')}</p>` : nothing}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.result ? html`<div class="result" data-result><h4>${t('command.result')}</h4>${this.renderResult(this.result.value)}</div>` : nothing}
    `;
  }
}

customElements.define('bf-command-panel', BfCommandPanel);

// <bf-inbound-overrides>: a node's per-inbound overrides as a small table (inbound tag, host, port),
// rows added and removed in place. The rows come down as typed and go up with `bf-overrides-changed`;
// `overridesOf` turns them into what the hub takes, or says which row is wrong.
import { css, html, nothing } from 'lit';
import type { InboundOverride } from '../data/nodes.js';
import { t, type MessageKey } from '../i18n.js';
import { OVERRIDES_CHANGED } from '../ui/events.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export interface OverrideRow {
  tag: string;
  host: string;
  port: string;
}

export const rowsOf = (overrides: Record<string, InboundOverride>): OverrideRow[] =>
  Object.entries(overrides).map(([tag, o]) => ({ tag, host: o.host ?? '', port: o.port === undefined ? '' : String(o.port) }));

/** The overrides the rows stand for; blank rows are left out. Throws an Error naming the wrong row. */
export function overridesOf(rows: readonly OverrideRow[]): Record<string, InboundOverride> {
  const overrides: Record<string, InboundOverride> = {};
  for (const row of rows) {
    const [tag, host, port] = [row.tag.trim(), row.host.trim(), row.port.trim()];
    if (!tag && !host && !port) continue;
    const say = (key: MessageKey) => new Error(t(key).replace('{tag}', tag));
    if (!tag) throw say('node.overrideNeedsTag');
    if (!host && !port) throw say('node.overrideNeedsTarget');
    if (tag in overrides) throw say('node.overrideTwice');
    const number = Number(port);
    if (port && !(Number.isInteger(number) && number >= 1 && number <= 65535)) throw say('node.overrideBadPort');
    overrides[tag] = { ...(host ? { host } : {}), ...(port ? { port: number } : {}) };
  }
  return overrides;
}

export class BfInboundOverrides extends LocalizedElement {
  static override properties = { rows: { attribute: false }, inboundTags: { attribute: false } };
  rows: OverrideRow[] = [];
  /** Tags to offer (the inbounds of the config the node runs); any tag may be typed. */
  inboundTags: string[] = [];

  static override styles = [
    screenStyles,
    css`
      fieldset { border: 1px solid var(--bf-border); border-radius: 4px; font-size: 14px; }
      .hint { color: var(--bf-faint); font-size: 12px; margin: 0 0 6px; }
      td { padding: 4px; border: 0; }
      td input { width: 100%; box-sizing: border-box; }
      td.port { width: 6em; }
      td.remove { width: 1%; }
      /* A phone: each override on lines of its own (tag, host, then port and Remove), named by placeholders. */
      @media (max-width: 600px) {
        thead { display: none; }
        tr { display: grid; grid-template-columns: 1fr auto; border-bottom: 1px solid var(--bf-border); padding: 4px 0; }
        td.tag, td.host { grid-column: span 2; }
        td.port, td.remove { width: auto; }
      }
    `,
  ];

  private send(rows: OverrideRow[]) {
    this.dispatchEvent(new CustomEvent(OVERRIDES_CHANGED, { detail: rows, bubbles: true, composed: true }));
  }

  private edit(index: number, field: keyof OverrideRow, event: Event) {
    const value = (event.target as HTMLInputElement).value;
    this.send(this.rows.map((row, i) => (i === index ? { ...row, [field]: value } : row)));
  }

  override render() {
    return html`<fieldset>
      <legend>${t('node.overrides')}</legend>
      <p class="hint">${t('node.overridesHint')}</p>
      <datalist id="inbound-tags">${this.inboundTags.map((tag) => html`<option value=${tag}></option>`)}</datalist>
      ${this.rows.length
        ? html`<div class="scroll"><table>
            <thead><tr><th>${t('node.inboundTag')}</th><th>${t('node.overrideHost')}</th><th>${t('node.overridePort')}</th><th></th></tr></thead>
            <tbody>
              ${this.rows.map(
                (row, i) => html`<tr>
                  <td class="tag"><input list="inbound-tags" maxlength="64" aria-label="${t('node.inboundTag')} ${i + 1}" placeholder=${t('node.inboundTag')} .value=${row.tag} @input=${(e: Event) => this.edit(i, 'tag', e)} /></td>
                  <td class="host"><input maxlength="253" aria-label="${t('node.overrideHost')} ${i + 1}" placeholder=${t('node.overrideHost')} .value=${row.host} @input=${(e: Event) => this.edit(i, 'host', e)} /></td>
                  <td class="port"><input type="number" min="1" max="65535" step="1" aria-label="${t('node.overridePort')} ${i + 1}" placeholder=${t('node.overridePort')} .value=${row.port}
                    @input=${(e: Event) => this.edit(i, 'port', e)} /></td>
                  <td class="remove"><button type="button" class="secondary" @click=${() => this.send(this.rows.filter((_, j) => j !== i))}>${t('node.removeOverride')}</button></td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}
      <button type="button" class="secondary" @click=${() => this.send([...this.rows, { tag: '', host: '', port: '' }])}>${t('node.addOverride')}</button>
    </fieldset>`;
  }
}

customElements.define('bf-inbound-overrides', BfInboundOverrides);

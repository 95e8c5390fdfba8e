// <bf-firewall-rules>: a rule set's rules as a small table (id, kind, then the fields that kind
// takes, comment), rows added and removed in place. The rows come down as typed and go up with
// `bf-rules-changed`; `rulesOf` turns them into the rules the hub takes. The hub runs the nodes'
// own check and names the rule it refuses, so this only shapes what was typed.
import { css, html, nothing } from 'lit';
import type { Rule, RuleKind } from '../data/firewall.js';
import { t, type MessageKey } from '../i18n.js';
import { RULES_CHANGED } from '../ui/events.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export interface RuleRow {
  id: string;
  kind: RuleKind;
  value: string;
  port: string;
  protocol: '' | 'tcp' | 'udp';
  comment: string;
}

/** Every kind (a Record, so a kind the contract adds is a type error here until it is listed), what it takes and its label. */
export const RULE_FIELDS: Record<RuleKind, { value: boolean; port: boolean; label: MessageKey }> = {
  source_ip: { value: true, port: false, label: 'firewall.kind.source_ip' },
  port: { value: false, port: true, label: 'firewall.kind.port' },
  destination_ip: { value: true, port: false, label: 'firewall.kind.destination_ip' },
  destination_port: { value: false, port: true, label: 'firewall.kind.destination_port' },
  domain: { value: true, port: false, label: 'firewall.kind.domain' },
  domain_suffix: { value: true, port: false, label: 'firewall.kind.domain_suffix' },
  domain_keyword: { value: true, port: false, label: 'firewall.kind.domain_keyword' },
  bittorrent: { value: false, port: false, label: 'firewall.kind.bittorrent' },
};
const KINDS = Object.keys(RULE_FIELDS) as RuleKind[];

export const rowsOf = (rules: readonly Rule[]): RuleRow[] =>
  rules.map((r) => ({ id: r.id, kind: r.kind, value: r.value ?? '', port: r.port === undefined ? '' : String(r.port), protocol: r.protocol ?? '', comment: r.comment ?? '' }));

/** The rules the rows stand for, with only the fields each kind takes; the hub checks the rest. */
export const rulesOf = (rows: readonly RuleRow[]): Rule[] =>
  rows.map((row) => {
    const fields = RULE_FIELDS[row.kind];
    const port = row.port.trim();
    return {
      id: row.id.trim(),
      kind: row.kind,
      ...(fields.value ? { value: row.value.trim() } : {}),
      // A number input holds a number or nothing; its range is the hub's to check.
      ...(fields.port && port ? { port: Number(port) } : {}),
      ...(fields.port && row.protocol ? { protocol: row.protocol } : {}),
      ...(row.comment.trim() ? { comment: row.comment.trim() } : {}),
    };
  });

/** A new row's id: `rule-<n>` for the first n no row has. */
const freshId = (rows: readonly RuleRow[]) => {
  const taken = new Set(rows.map((r) => r.id));
  let n = rows.length + 1;
  while (taken.has(`rule-${n}`)) n++;
  return `rule-${n}`;
};

export class BfFirewallRules extends LocalizedElement {
  static override properties = { rows: { attribute: false } };
  rows: RuleRow[] = [];

  static override styles = [
    screenStyles,
    css`
      fieldset { border: 1px solid var(--bf-border); border-radius: 4px; font-size: 14px; }
      .hint { color: var(--bf-faint); font-size: 12px; margin: 0 0 6px; }
      td { padding: 4px; border: 0; }
      td input, td select { width: 100%; box-sizing: border-box; }
      td.id { width: 9em; }
      td.port { width: 6em; }
      td.protocol { width: 5.5em; }
      td.remove { width: 1%; }
      /* A phone: each rule on lines of its own, named by placeholders. */
      @media (max-width: 600px) {
        thead { display: none; }
        tr { display: grid; grid-template-columns: 1fr 1fr; border-bottom: 1px solid var(--bf-border); padding: 4px 0; }
        td.value, td.comment { grid-column: span 2; }
        td.id, td.port, td.protocol, td.remove { width: auto; }
      }
    `,
  ];

  private send(rows: RuleRow[]) {
    this.dispatchEvent(new CustomEvent(RULES_CHANGED, { detail: rows, bubbles: true, composed: true }));
  }

  private edit(index: number, field: keyof RuleRow, event: Event) {
    const value = (event.target as HTMLInputElement | HTMLSelectElement).value;
    this.send(this.rows.map((row, i) => (i === index ? { ...row, [field]: value } : row)));
  }

  private row(row: RuleRow, i: number) {
    const fields = RULE_FIELDS[row.kind];
    const input = (field: 'id' | 'value' | 'port' | 'comment', label: string, attributes: { type?: string; maxlength?: number } = {}) =>
      html`<input type=${attributes.type ?? 'text'} maxlength=${attributes.maxlength ?? nothing} aria-label="${label} ${i + 1}" placeholder=${label}
        .value=${row[field]} @input=${(e: Event) => this.edit(i, field, e)} />`;
    return html`<tr data-rule=${i}>
      <td class="id">${input('id', t('firewall.ruleId'), { maxlength: 64 })}</td>
      <td class="kind"><select aria-label="${t('firewall.kind')} ${i + 1}" @change=${(e: Event) => this.edit(i, 'kind', e)}>
        ${KINDS.map((k) => html`<option value=${k} ?selected=${k === row.kind}>${t(RULE_FIELDS[k].label)}</option>`)}
      </select></td>
      <td class="value">${fields.value ? input('value', t('firewall.value'), { maxlength: 253 }) : nothing}</td>
      <td class="port">${fields.port ? input('port', t('firewall.port'), { type: 'number' }) : nothing}</td>
      <td class="protocol">${fields.port
        ? html`<select aria-label="${t('firewall.protocol')} ${i + 1}" @change=${(e: Event) => this.edit(i, 'protocol', e)}>
            <option value="" ?selected=${row.protocol === ''}>${t('firewall.anyProtocol')}</option>
            ${(['tcp', 'udp'] as const).map((p) => html`<option value=${p} ?selected=${row.protocol === p}>${p}</option>`)}
          </select>`
        : nothing}</td>
      <td class="comment">${input('comment', t('firewall.ruleComment'), { maxlength: 200 })}</td>
      <td class="remove"><button type="button" class="secondary" @click=${() => this.send(this.rows.filter((_, j) => j !== i))}>${t('firewall.removeRule')}</button></td>
    </tr>`;
  }

  override render() {
    return html`<fieldset>
      <legend>${t('firewall.rules')}</legend>
      <p class="hint">${t('firewall.rulesHint')}</p>
      ${this.rows.length
        ? html`<div class="scroll"><table>
            <thead><tr>
              <th>${t('firewall.ruleId')}</th><th>${t('firewall.kind')}</th><th>${t('firewall.value')}</th><th>${t('firewall.port')}</th>
              <th>${t('firewall.protocol')}</th><th>${t('firewall.ruleComment')}</th><th></th>
            </tr></thead>
            <tbody>${this.rows.map((row, i) => this.row(row, i))}</tbody>
          </table></div>`
        : nothing}
      <button type="button" class="secondary" @click=${() => this.send([...this.rows, { id: freshId(this.rows), kind: 'source_ip', value: '', port: '', protocol: '', comment: '' }])}>
        ${t('firewall.addRule')}
      </button>
    </fieldset>`;
  }
}

customElements.define('bf-firewall-rules', BfFirewallRules);

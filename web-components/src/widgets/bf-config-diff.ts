// <bf-config-diff>: what changed between two texts, as `diff -u` hunks with line numbers of both
// sides; removed lines red, added green.
import { css, html, nothing } from 'lit';
import { diffLines, hunks } from '../ui/diff.js';
import { t } from '../i18n.js';
import { LocalizedElement } from '../ui/localized-element.js';

export class BfConfigDiff extends LocalizedElement {
  static override properties = { oldText: {}, newText: {} };
  oldText = '';
  newText = '';

  static override styles = css`
    :host { display: block; }
    .diff { overflow-x: auto; border: 1px solid var(--bf-border); border-radius: 4px; background: var(--bf-surface); }
    table { border-collapse: collapse; font: 12px/18px ui-monospace, SFMono-Regular, Menlo, monospace; min-width: 100%; }
    td { padding: 0 8px; white-space: pre; vertical-align: top; }
    td.n { color: var(--bf-faint); text-align: right; user-select: none; width: 1%; }
    tr.added { background: var(--bf-ok-bg); }
    tr.removed { background: var(--bf-danger-bg); }
    tr.hunk td { background: var(--bf-info-bg); color: var(--bf-strong-muted); }
    p { font-size: 14px; color: var(--bf-faint); }
  `;

  override render() {
    const parts = hunks(diffLines(this.oldText, this.newText));
    if (parts.length === 0) return html`<p>${t('config.noDifference')}</p>`;
    const sign = { same: ' ', added: '+', removed: '-' } as const;
    return html`<div class="diff"><table data-diff>
      ${parts.map(
        (hunk) => html`<tr class="hunk"><td class="n"></td><td class="n"></td><td>@@ −${hunk.oldStart} +${hunk.newStart} @@</td></tr>
          ${hunk.lines.map(
            (line) => html`<tr class=${line.kind} data-kind=${line.kind}>
              <td class="n">${line.oldLine ?? nothing}</td><td class="n">${line.newLine ?? nothing}</td><td>${sign[line.kind]} ${line.text}</td>
            </tr>`,
          )}`,
      )}
    </table></div>`;
  }
}

customElements.define('bf-config-diff', BfConfigDiff);

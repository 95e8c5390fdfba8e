// What a plugin command returned, readable: an array of flat objects as a table; an object holding
// such an array as its plain fields in a table of their own, then each other field under its name;
// anything else as JSON. The command panel and a batch's nodes show outputs so; a host adds
// `commandResultStyles` to its styles.
import { css, html, nothing, type TemplateResult } from 'lit';

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

export function commandResult(value: unknown): TemplateResult {
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
      ${entries.filter(([, v]) => v !== null && typeof v === 'object').map(([k, v]) => html`<h5>${k}</h5>${commandResult(v)}`)}`;
  }
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

export const commandResultStyles = css`
  h5 { margin: 12px 0 4px; font-size: 14px; }
  table.fields { width: auto; }
  pre.json { background: var(--bf-code-bg); padding: 8px; border-radius: 4px; overflow-x: auto; font-size: 13px; margin: 0; white-space: pre-wrap; word-break: break-word; }
`;

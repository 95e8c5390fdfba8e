// <bf-node-probes>: what a node's health-probe last reported, as the hub stored it — each scheduled
// probe's latest result with its history as a strip (newest right), the unlock checks with region
// and the rule that decided, and the node's inventory.
import { css, html, nothing } from 'lit';
import { getNodeProbes, type Inventory, type NodeProbes, type ProbeEntry, type UnlockReport } from '../data/probes.js';
import { t } from '../i18n.js';
import { formatBytes, formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

/** The hub reads the nodes every few minutes; the page follows at that pace. */
const REFRESH_MS = 60_000;

const outcome = (e: ProbeEntry) => (e.ok ? `${e.latency_ms ?? '—'} ms` : (e.error ?? t('probes.failed')));

export class BfNodeProbes extends LocalizedElement {
  static override properties = { nodeId: {} };
  nodeId = '';
  private readonly report = new Loader<NodeProbes>(this, () => getNodeProbes(this.nodeId), { refreshMs: REFRESH_MS });

  static override styles = [
    screenStyles,
    css`
      .strip { display: inline-flex; gap: 1px; vertical-align: middle; }
      .strip i { width: 4px; height: 14px; background: var(--bf-ok); }
      .strip i.down { background: var(--bf-danger); }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; font-size: 14px; }
      dt { color: var(--bf-faint); }
      dd { margin: 0; word-break: break-all; }
    `,
  ];

  override willUpdate(changed: Map<string, unknown>) {
    if (changed.has('nodeId') && this.nodeId) void this.report.load();
  }

  private probes(r: NodeProbes) {
    if (r.probes.length === 0) return html`<p class="muted">${t('probes.none')}</p>`;
    return html`<div class="scroll"><table>
      <thead><tr><th>${t('probes.name')}</th><th>${t('probes.target')}</th><th>${t('probes.latest')}</th><th>${t('probes.history')}</th></tr></thead>
      <tbody>${r.probes.map(
        (p) => html`<tr data-probe=${p.name}>
          <td>${p.name} <span class="muted">${p.kind}</span></td>
          <td>${p.target}</td>
          <td>${p.latest
            ? html`<span class="badge ${p.latest.ok ? 'ok' : 'error'}">${p.latest.ok ? t('probes.up') : t('probes.down')}</span> ${outcome(p.latest)}`
            : '—'}</td>
          <td><span class="strip">${p.history.map((e) => html`<i class=${e.ok ? '' : 'down'} title="${formatTime(e.time)}: ${outcome(e)}"></i>`)}</span></td>
        </tr>`,
      )}</tbody>
    </table></div>`;
  }

  private unlock(report: UnlockReport | null) {
    if (!report) return html`<p class="muted">${t('probes.noUnlock')}</p>`;
    const label = { available: t('probes.available'), not_available: t('probes.notAvailable'), unknown: t('probes.unknown') };
    return html`<div class="scroll"><table>
      <thead><tr><th>${t('probes.service')}</th><th>${t('probes.result')}</th><th>${t('probes.region')}</th><th>${t('probes.evidence')}</th></tr></thead>
      <tbody>${report.results.map(
        (u) => html`<tr data-unlock=${u.id}>
          <td>${u.name} <span class="muted">${u.mark}</span></td>
          <td><span class="badge ${u.result === 'available' ? 'ok' : u.result === 'not_available' ? 'error' : ''}">${label[u.result]}</span></td>
          <td>${u.region ?? '—'}</td>
          <td class="muted">${u.evidence.rule ?? u.evidence.error ?? ''}
            ${u.evidence.requests.map((q) => (q.status === null ? nothing : html`<div>${q.status} ${q.final_url}</div>`))}</td>
        </tr>`,
      )}</tbody>
    </table></div>
    <p class="muted">${t('probes.checkedAt')} ${formatTime(report.checked_at)}</p>`;
  }

  private inventory(inv: Inventory | null, at: string | null) {
    if (!inv) return html`<p class="muted">${t('probes.noInventory')}</p>`;
    return html`<dl data-inventory>
      <dt>${t('probes.os')}</dt><dd>${inv.os.distro} ${inv.os.release} (${inv.os.arch}), ${t('probes.kernel')} ${inv.os.kernel}</dd>
      <dt>${t('probes.virtualization')}</dt><dd>${inv.virtualization.virtual ? inv.virtualization.host || inv.virtualization.system || t('probes.virtual') : t('probes.bareMetal')}</dd>
      <dt>CPU</dt><dd>${inv.cpu.manufacturer} ${inv.cpu.brand}, ${inv.cpu.cores} ${t('probes.cores')}</dd>
      <dt>${t('probes.memory')}</dt><dd>${formatBytes(inv.memory.total_bytes)}${inv.memory.swap_total_bytes ? ` + ${formatBytes(inv.memory.swap_total_bytes)} swap` : ''}</dd>
      <dt>${t('probes.disks')}</dt><dd>${inv.disks.map((d) => html`<div>${d.device} ${d.type} ${formatBytes(d.size_bytes)}</div>`)}${inv.disks.length ? nothing : '—'}</dd>
      <dt>${t('probes.filesystems')}</dt>
      <dd>${inv.filesystems.map((f) => html`<div>${f.mount} (${f.type}) ${formatBytes(f.used_bytes)} / ${formatBytes(f.size_bytes)}</div>`)}</dd>
      <dt>${t('probes.interfaces')}</dt>
      <dd>${inv.interfaces.filter((i) => !i.internal).map((i) => html`<div>${i.name}: ${i.addresses.join(', ') || '—'}</div>`)}</dd>
    </dl>
    ${at ? html`<p class="muted">${t('probes.checkedAt')} ${formatTime(at)}</p>` : nothing}`;
  }

  override render() {
    const r = this.report.value;
    return html`<section class="card" data-probes>
      <h3>${t('probes.title')}</h3>
      ${this.report.status()}
      ${r
        ? html`${r.error ? html`<p class="error">${t('probes.lastError')}: ${r.error}</p>` : nothing}
            ${this.probes(r)}
            <h3>${t('probes.unlock')}</h3>
            ${this.unlock(r.unlock)}
            <h3>${t('probes.inventory')}</h3>
            ${this.inventory(r.inventory, r.inventory_at)}`
        : nothing}
    </section>`;
  }
}

customElements.define('bf-node-probes', BfNodeProbes);

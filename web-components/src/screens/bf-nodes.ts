// <bf-nodes>: the node table, from what the hub stored (no agent is asked): health, sing-box, users
// served / expected, traffic today, CPU and memory as small meters, config version with a drift
// badge, last seen; the hub sorts it (a header button per column) and filters it by tag. Admins add
// a node through the "Add node" dialog and see the install commands not used yet; nodes ticked in
// the table can be given one command as a batch.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { listNodes, type NodeQuery, type NodeRow, type NodeSort } from '../data/nodes.js';
import { t, type MessageKey } from '../i18n.js';
import '../widgets/bf-add-node.js';
import '../widgets/bf-batch-form.js';
import '../widgets/bf-install-commands.js';
import { formatBytes, formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

/** The badge class of each health state. */
const HEALTH_BADGE: Record<NodeRow['condition']['state'], string> = { online: 'ok', degraded: 'warn', offline: 'error', unknown: 'neutral' };

export class BfNodes extends LocalizedElement {
  static override properties = {
    adminRole: {},
    adding: { state: true },
    installs: { state: true },
    selected: { state: true },
    batching: { state: true },
    query: { state: true },
  };
  adminRole: Role = 'viewer';
  /** Whether the Add node dialog is open. */
  adding = false;
  /** Raised after the dialog changed something, so the list of install commands is fetched again. */
  installs = 0;
  /** The ticked nodes, by id. */
  selected = new Set<string>();
  /** Whether the batch form for the ticked nodes is open. */
  batching = false;
  /** The sort and tag the hub is asked for. */
  query: NodeQuery = {};
  /** Every tag seen in an answer, for the filter (a filtered answer only holds its own tag). */
  private readonly tags = new Set<string>();
  private readonly nodes = new Loader<NodeRow[]>(
    this,
    () =>
      listNodes(this.query).then((nodes) => {
        for (const node of nodes) for (const tag of node.tags) this.tags.add(tag);
        return nodes;
      }),
    { refreshMs: 30_000 },
  );

  static override styles = [screenStyles, css`
    .tag { display: inline-block; background: var(--bf-info-bg); border-radius: 3px; padding: 0 6px; margin: 2px 4px 0 0; font-size: 12px; }
    .heading { justify-content: space-between; }
    .heading h2 { margin: 0; }
    th button.sort { background: none; border: none; padding: 0; color: inherit; font: inherit; font-weight: 600; cursor: pointer; white-space: nowrap; }
    th button.sort::after { content: ' ↕'; opacity: 0.5; }
    th[aria-sort='ascending'] button.sort::after { content: ' ↑'; opacity: 1; }
    th[aria-sort='descending'] button.sort::after { content: ' ↓'; opacity: 1; }
    td.num, th { white-space: nowrap; }
    caption { text-align: left; caption-side: top; padding: 0 0 6px; }
    .load { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
    meter { width: 56px; height: 8px; }
    meter::-webkit-meter-bar { background: var(--bf-track); border: none; border-radius: 4px; height: 8px; }
    meter::-webkit-meter-optimum-value { background: var(--bf-ok); border-radius: 4px; }
    meter::-webkit-meter-suboptimum-value { background: var(--bf-warn-fill); border-radius: 4px; }
    meter::-webkit-meter-even-less-good-value { background: var(--bf-danger); border-radius: 4px; }
    @media (max-width: 600px) { .address { display: none; } }
  `];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.nodes.load();
  }

  private changed() {
    this.installs++;
    void this.nodes.load({ keep: true });
  }

  private ask(query: NodeQuery) {
    this.query = query;
    void this.nodes.load({ keep: true });
  }

  /** First click sorts ascending (health: worst first), the next descending. */
  private sortBy(column: NodeSort) {
    this.ask({ ...this.query, sort: this.query.sort === column ? `-${column}` : column });
  }

  private tick(id: string, on: boolean) {
    const selected = new Set(this.selected);
    if (on) selected.add(id);
    else selected.delete(id);
    this.selected = selected;
  }

  private tickAll(nodes: NodeRow[], on: boolean) {
    this.selected = new Set(on ? nodes.map((n) => n.id) : []);
  }

  /** The batch form for the ticked nodes (in list order), or the button that opens it. */
  private batchSection(nodes: NodeRow[]) {
    const ids = nodes.filter((n) => this.selected.has(n.id)).map((n) => n.id);
    if (this.batching && ids.length) {
      return html`<bf-batch-form .adminRole=${this.adminRole} .nodeIds=${ids} @bf-closed=${() => (this.batching = false)}></bf-batch-form>`;
    }
    return html`<button class="secondary" ?disabled=${!ids.length} @click=${() => (this.batching = true)}>${t('nodes.runOnSelected')}</button>
      <span class="muted">${t('nodes.selected').replace('{count}', String(ids.length))}</span>`;
  }

  private filter() {
    const tags = [...this.tags].sort();
    return html`<label>${t('nodes.tagFilter')}
      <select data-tag-filter @change=${(e: Event) => this.ask({ ...this.query, tag: (e.target as HTMLSelectElement).value || undefined })}>
        <option value="" ?selected=${!this.query.tag}>${t('nodes.allTags')}</option>
        ${tags.map((tag) => html`<option value=${tag} ?selected=${this.query.tag === tag}>${tag}</option>`)}
      </select></label>`;
  }

  /** A column header; sortable ones are a button and say their order (aria-sort). */
  private header(label: MessageKey, column?: NodeSort, cls = '') {
    if (!column) return html`<th class=${cls} scope="col">${t(label)}</th>`;
    const sort = this.query.sort === column ? 'ascending' : this.query.sort === `-${column}` ? 'descending' : 'none';
    return html`<th class=${cls} scope="col" aria-sort=${sort} data-sort=${column}>
      <button class="sort" @click=${() => this.sortBy(column)}>${t(label)}</button></th>`;
  }

  private health(n: NodeRow) {
    const { state, since, reasons } = n.condition;
    return html`<td data-health=${state}>
      <span class="badge ${HEALTH_BADGE[state]}" title=${since ? t('nodes.since').replace('{time}', formatTime(since)) : nothing}>${t(`nodes.health.${state}`)}</span>
      ${n.enabled ? nothing : html`<span class="badge disabled">${t('admins.disabled')}</span>`}
      ${reasons.includes('singbox-stopped') ? html`<div class="muted">${t('nodes.singboxStopped')}</div>` : nothing}
      ${n.inbound_health.state === 'unhealthy'
        ? html`<span class="badge error" data-unreachable title=${t('nodes.unreachableTitle').replace('{since}', formatTime(n.inbound_health.since!))}>${t('nodes.unreachable')}</span>`
        : nothing}
      ${n.error ? html`<div class="muted error" title=${n.error}>${t('node.error')}</div>` : nothing}
    </td>`;
  }

  private singbox(n: NodeRow) {
    if (!n.singbox) return html`<td class="muted">—</td>`;
    return html`<td data-singbox=${n.singbox.running ? 'running' : 'stopped'}>
      ${n.singbox.running ? t('nodes.running') : html`<span class="error">${t('nodes.stopped')}</span>`}
      ${n.singbox.version ? html`<div class="muted">${n.singbox.version}</div>` : nothing}
    </td>`;
  }

  /** A percentage as a small meter (amber from 70 %, red from 90 %) and its figure. */
  private load(label: MessageKey, value: number | null, node: string) {
    if (value === null) return html`<td class="muted">—</td>`;
    const name = t(label);
    return html`<td><div class="load">
      <meter min="0" max="100" low="70" high="90" optimum="0" .value=${value} aria-label=${`${name} ${node}`}></meter>${Math.round(value)} %
    </div></td>`;
  }

  private config(n: NodeRow) {
    const version = n.applied_config_version === null ? '—' : `v${n.applied_config_version}`;
    return html`<td class="num">${version}
      ${n.config_drift
        ? html`<span class="badge error" data-drift title=${t('nodes.driftTitle').replace('{since}', formatTime(n.config_drift.since))}>${t('nodes.drift')}</span>`
        : nothing}</td>`;
  }

  private row(n: NodeRow) {
    return html`<tr data-node=${n.id}>
      <td><input type="checkbox" aria-label=${t('nodes.select').replace('{node}', n.name)} .checked=${this.selected.has(n.id)}
        @change=${(e: Event) => this.tick(n.id, (e.target as HTMLInputElement).checked)} /></td>
      <td><a href="#/nodes/${encodeURIComponent(n.id)}">${n.name}</a></td>
      <td>${n.tags.map((tag) => html`<span class="tag">${tag}</span>`)}</td>
      ${this.health(n)}
      ${this.singbox(n)}
      <td class="num" data-users>${n.users.served ?? '—'} / ${n.users.expected}</td>
      <td class="num">${formatBytes(n.traffic_today_bytes)}</td>
      ${this.load('nodes.cpu', n.cpu_percent, n.name)}
      ${this.load('nodes.memory', n.memory_percent, n.name)}
      ${this.config(n)}
      <td class="num">${n.last_seen_at ? formatTime(n.last_seen_at) : t('nodes.never')}</td>
      <td class="address">${n.address}
        ${n.public_host ? html`<div class="muted">${t('node.publicHost')}: ${n.public_host}</div>` : nothing}</td>
    </tr>`;
  }

  private table(nodes: NodeRow[]) {
    return html`<div class="scroll"><table data-node-table>
      <caption class="muted">${t('nodes.stored')}</caption>
      <thead><tr>
        <th scope="col"><input type="checkbox" aria-label=${t('nodes.selectAll')} .checked=${nodes.length > 0 && nodes.every((n) => this.selected.has(n.id))}
          @change=${(e: Event) => this.tickAll(nodes, (e.target as HTMLInputElement).checked)} /></th>
        ${this.header('nodes.node', 'name')}
        ${this.header('nodes.tags')}
        ${this.header('nodes.health', 'health')}
        ${this.header('nodes.singbox')}
        ${this.header('nodes.users', 'users_served')}
        ${this.header('nodes.trafficToday', 'traffic_today')}
        ${this.header('nodes.cpu', 'cpu')}
        ${this.header('nodes.memory', 'memory')}
        ${this.header('nodes.config')}
        ${this.header('nodes.lastSeen', 'last_seen')}
        ${this.header('nodes.address', undefined, 'address')}
      </tr></thead>
      <tbody>${nodes.map((n) => this.row(n))}</tbody>
    </table></div>`;
  }

  override render() {
    const canAdd = may(this.adminRole, 'admin');
    const nodes = this.nodes.value;
    const filtered = this.query.tag !== undefined;
    return html`
      <div class="row heading">
        <h2>${t('nodes.title')}</h2>
        ${canAdd ? html`<button @click=${() => (this.adding = true)}>${t('nodes.enroll')}</button>` : nothing}
      </div>
      ${this.nodes.status()}
      ${nodes?.length === 0 && !filtered ? html`<p>${t('nodes.empty')}</p>` : nothing}
      ${nodes && (nodes.length || filtered)
        ? html`<div class="row">${this.filter()} ${this.batchSection(nodes)}</div>
            ${nodes.length ? this.table(nodes) : html`<p>${t('nodes.noMatch')}</p>`}`
        : nothing}
      ${canAdd ? html`<bf-install-commands .changed=${this.installs}></bf-install-commands>` : nothing}
      ${this.adding ? html`<bf-add-node @bf-changed=${this.changed} @bf-closed=${() => (this.adding = false)}></bf-add-node>` : nothing}
    `;
  }
}

customElements.define('bf-nodes', BfNodes);
